-- Drop what the OAuth migration made.
-- depends: 20261126_01_fp001-create-schema

DROP TABLE IF EXISTS faceplate.oauth_states;
DROP TABLE IF EXISTS faceplate.mcp_oauth;
DROP TABLE IF EXISTS faceplate.oauth_clients;
