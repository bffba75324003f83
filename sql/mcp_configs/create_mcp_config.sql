-- name: create_mcp_config :one
-- A new MCP server config owned by the user; its name must be unique for them.
-- $1 id :: uuid
-- $2 user_id :: uuid
-- $3 name :: varchar
-- $4 config :: jsonb
-- $5 enabled :: bool
-- returns: id uuid, name varchar, config jsonb, enabled bool, created_at timestamptz, updated_at timestamptz
-- A taken name raises mcp_configs_user_name_key.
INSERT INTO faceplate.mcp_configs AS mc (id, user_id, name, config, enabled)
VALUES ($1, $2, $3, $4, $5)
RETURNING mc.id, mc.name, mc.config, mc.enabled, mc.created_at, mc.updated_at;
