-- The market schema. Later migrations add the service's tables.
COMMENT ON SCHEMA market IS 'Owned by the market service: the credits ledger, model prices, reservations, licence trades';
