-- The community schema. Later migrations add the service's tables.
COMMENT ON SCHEMA community IS 'Owned by the community service: users, works, follows, likes, comments, collections, feeds';
