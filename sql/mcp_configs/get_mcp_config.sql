-- name: get_mcp_config :one
-- One MCP config if the user owns it, else none.
-- $1 user_id :: uuid
-- $2 config_id :: uuid
-- returns: id uuid, name varchar, config jsonb, enabled bool, tool_approval varchar, tool_policies jsonb, created_at timestamptz, updated_at timestamptz
SELECT mc.id, mc.name, mc.config, mc.enabled, mc.tool_approval, mc.tool_policies,
       mc.created_at, mc.updated_at
FROM faceplate.mcp_configs AS mc
WHERE mc.id = $2
  AND mc.user_id = $1;
