-- A double-entry ledger: a transaction is a set of entries whose amounts sum to zero. Balances are
-- sums of entries; nothing here is ever updated or deleted.
CREATE TABLE accounts (
    id text PRIMARY KEY,                -- 'user:<id>' (spendable), 'hold:<id>' (reserved), 'mint'
    kind text NOT NULL CHECK (kind IN ('user', 'hold', 'mint')),
    user_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'mint') = (user_id IS NULL))
);

CREATE TABLE transactions (
    id text PRIMARY KEY,
    key text NOT NULL UNIQUE,           -- the business key: 'reserve:<generation>', 'settle:<generation>', ...
    kind text NOT NULL,
    reference text,                     -- the generation or licence request it is about
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE entries (
    id bigserial PRIMARY KEY,
    transaction_id text NOT NULL REFERENCES transactions (id),
    account_id text NOT NULL REFERENCES accounts (id),
    amount bigint NOT NULL CHECK (amount <> 0)
);
CREATE INDEX entries_account_idx ON entries (account_id, id);
CREATE INDEX entries_transaction_idx ON entries (transaction_id);

-- Checked at commit: every transaction touched balances to zero and has at least two entries.
CREATE FUNCTION market_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
    n integer;
BEGIN
    SELECT COALESCE(SUM(amount), 0), COUNT(*) INTO total, n FROM market.entries
     WHERE transaction_id = NEW.transaction_id;
    IF total <> 0 OR n < 2 THEN
        RAISE EXCEPTION 'ledger transaction % does not balance (sum %, % entries)', NEW.transaction_id, total, n
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER entries_balanced AFTER INSERT ON entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION market_check_balanced();

CREATE FUNCTION market_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only (% on %)', TG_OP, TG_TABLE_NAME USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION market_append_only();
CREATE TRIGGER transactions_append_only BEFORE UPDATE OR DELETE ON transactions
    FOR EACH ROW EXECUTE FUNCTION market_append_only();

INSERT INTO accounts (id, kind) VALUES ('mint', 'mint');

-- Prices of public models, set by their owners.
CREATE TABLE model_prices (
    model_id text PRIMARY KEY,
    owner_id text NOT NULL,
    price_per_image integer NOT NULL CHECK (price_per_image >= 0),
    contributors_share integer NOT NULL CHECK (contributors_share BETWEEN 0 AND 100),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A version's training record as the trainer answered: images per artist.
CREATE TABLE version_records (
    model_id text NOT NULL,
    version integer NOT NULL,
    artists jsonb NOT NULL,             -- {"<author_id>": images, ...}
    fetched_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, version)
);

-- Credits held for a generation on someone else's priced model, until it completes or ends.
CREATE TABLE reservations (
    generation_id text PRIMARY KEY,
    payer_id text NOT NULL,
    owner_id text NOT NULL,
    model_id text NOT NULL,
    version integer NOT NULL,
    count integer NOT NULL CHECK (count > 0),
    price_per_image integer NOT NULL,
    contributors_share integer NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    status text NOT NULL CHECK (status IN ('held', 'settled', 'released')),
    charged bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    decided_at timestamptz
);
CREATE INDEX reservations_held_idx ON reservations (created_at) WHERE status = 'held';
