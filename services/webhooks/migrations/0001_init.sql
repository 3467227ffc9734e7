-- The webhooks schema: endpoints and the record of every delivery (the delivery outbox).
COMMENT ON SCHEMA webhooks IS 'Owned by the webhooks service: endpoints, deliveries, attempts';

CREATE TABLE endpoints (
    id text PRIMARY KEY,
    owner_id text NOT NULL,
    url text NOT NULL,
    description text NOT NULL DEFAULT '',
    event_types text[] NOT NULL,
    secret text NOT NULL,
    previous_secret text,
    previous_secret_expires_at timestamptz,
    secret_rotated_at timestamptz,
    status text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    disabled_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoints_owner_idx ON endpoints (owner_id, id DESC);
CREATE INDEX endpoints_types_idx ON endpoints USING gin (event_types) WHERE status = 'enabled';

-- One row per (endpoint, event): its id is the `webhook-id` of every attempt. A delivery is due
-- when pending and next_attempt_at has passed; a worker claims it by setting locked_until.
CREATE TABLE deliveries (
    id text PRIMARY KEY,
    endpoint_id text NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    event_id text NOT NULL,
    event_type text NOT NULL,
    body text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    manual boolean NOT NULL DEFAULT false,
    next_attempt_at timestamptz,
    locked_until timestamptz,
    response_status integer,
    error text,
    latency_ms double precision,
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_endpoint_idx ON deliveries (endpoint_id, id DESC);
