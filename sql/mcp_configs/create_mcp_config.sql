-- name: create_mcp_config :one
-- A new MCP server config owned by the user, unless they have max_configs already; its name
-- must be unique for them.
-- $1 id :: uuid
-- $2 user_id :: uuid
-- $3 name :: varchar
-- $4 config :: jsonb
-- $5 enabled :: bool
-- $6 max_configs :: int8
-- $7 tool_approval :: varchar
-- $8 tool_policies :: jsonb
-- returns: id uuid, name varchar, config jsonb, enabled bool, tool_approval varchar, tool_policies jsonb, created_at timestamptz, updated_at timestamptz
-- No row when the user is at max_configs. Race-free only after lock_user in the same
-- transaction: this statement's snapshot must be taken once the lock is held, so that it
-- counts every config committed before. A taken name raises mcp_configs_user_name_key.
INSERT INTO faceplate.mcp_configs AS mc
    (id, user_id, name, config, enabled, tool_approval, tool_policies)
SELECT $1, $2, $3, $4, $5, $7, $8
WHERE (SELECT count(*) FROM faceplate.mcp_configs AS c WHERE c.user_id = $2) < $6
RETURNING mc.id, mc.name, mc.config, mc.enabled, mc.tool_approval, mc.tool_policies,
          mc.created_at, mc.updated_at;
