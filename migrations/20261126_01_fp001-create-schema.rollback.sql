-- Drop everything the create-schema migration made.
-- depends:

DROP TABLE IF EXISTS faceplate.mcp_configs;
DROP TABLE IF EXISTS faceplate.messages;
DROP TABLE IF EXISTS faceplate.conversations;
DROP TABLE IF EXISTS faceplate.users;
DROP SCHEMA IF EXISTS faceplate;
