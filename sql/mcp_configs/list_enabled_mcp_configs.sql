-- name: list_enabled_mcp_configs :many
-- Every enabled MCP config of the user: the tool servers of a turn.
-- $1 user_id :: uuid
-- returns: id uuid, name varchar, config jsonb, enabled bool, tool_approval varchar, tool_policies jsonb, created_at timestamptz, updated_at timestamptz
SELECT mc.id, mc.name, mc.config, mc.enabled, mc.tool_approval, mc.tool_policies,
       mc.created_at, mc.updated_at
FROM faceplate.mcp_configs AS mc
WHERE mc.user_id = $1
  AND mc.enabled
ORDER BY mc.name;
