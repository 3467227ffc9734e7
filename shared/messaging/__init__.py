"""NATS and JetStream helpers: connection, streams, event publishing, job consumers, RPC."""
