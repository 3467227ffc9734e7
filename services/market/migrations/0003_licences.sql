-- Licence trades: a request (its offer held in the buyer's hold account), then a signed licence.
CREATE TABLE licence_requests (
    id text PRIMARY KEY,
    work_id text NOT NULL,
    buyer_id text NOT NULL,
    author_id text NOT NULL,
    scope text NOT NULL,
    terms text NOT NULL DEFAULT '',
    offer_credits bigint NOT NULL CHECK (offer_credits >= 0),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'declined')),
    created_at timestamptz NOT NULL DEFAULT now(),
    decided_at timestamptz,
    idempotency_key text,
    CHECK (buyer_id <> author_id)
);
CREATE UNIQUE INDEX licence_requests_idempotency_idx ON licence_requests (buyer_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX licence_requests_buyer_idx ON licence_requests (buyer_id, id DESC);
CREATE INDEX licence_requests_author_idx ON licence_requests (author_id, id DESC);

CREATE TABLE licences (
    id text PRIMARY KEY,
    request_id text NOT NULL UNIQUE REFERENCES licence_requests (id),
    work_id text NOT NULL,
    licensor_id text NOT NULL,
    licensee_id text NOT NULL,
    scope text NOT NULL,
    terms text NOT NULL,
    price bigint NOT NULL,
    issued_at timestamptz NOT NULL,
    jws text NOT NULL
);
CREATE INDEX licences_licensee_idx ON licences (licensee_id, id DESC);
CREATE INDEX licences_licensor_idx ON licences (licensor_id, id DESC);
