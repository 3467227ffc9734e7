-- Login protection (services/community/login_guard.py): failure counters with exponential lock-outs,
-- one row per key ("pair:<account>|<client>", "account:<account>", "client:<client>"), shared by
-- every community replica. Rows are forgotten once their last failure is older than the window.
CREATE TABLE login_failures (
    key text PRIMARY KEY,
    failures integer NOT NULL,
    last_failure_at timestamptz NOT NULL,
    locked_until timestamptz
);
CREATE INDEX login_failures_last_idx ON login_failures (last_failure_at);

-- Clients (addresses) a user signed in from successfully: they pass the account-wide lock-out, so
-- an attacker guessing from many addresses cannot lock the owner out of their usual one.
CREATE TABLE login_clients (
    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client text NOT NULL,
    last_success_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, client)
);
