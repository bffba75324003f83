-- name: update_mcp_config :one
-- Replace the name, config, enabled flag and tool policies of the user's MCP config; none if
-- not theirs.
-- $1 user_id :: uuid
-- $2 config_id :: uuid
-- $3 name :: varchar
-- $4 config :: jsonb
-- $5 enabled :: bool
-- $6 tool_approval :: varchar
-- $7 tool_policies :: jsonb
-- returns: id uuid, name varchar, config jsonb, enabled bool, tool_approval varchar, tool_policies jsonb, created_at timestamptz, updated_at timestamptz
-- A taken name raises mcp_configs_user_name_key.
UPDATE faceplate.mcp_configs AS mc
SET name = $3, config = $4, enabled = $5, tool_approval = $6, tool_policies = $7,
    updated_at = now()
WHERE mc.id = $2
  AND mc.user_id = $1
RETURNING mc.id, mc.name, mc.config, mc.enabled, mc.tool_approval, mc.tool_policies,
          mc.created_at, mc.updated_at;
