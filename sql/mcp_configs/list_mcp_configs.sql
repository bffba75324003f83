-- name: list_mcp_configs :many
-- A page of the user's MCP configs, by name.
-- $1 user_id :: uuid
-- $2 after_name :: varchar  (null for the first page)
-- $3 limit :: int8  (one more than the page size, to learn whether a next page exists)
-- returns: id uuid, name varchar, config jsonb, enabled bool, tool_approval varchar, tool_policies jsonb, created_at timestamptz, updated_at timestamptz
-- Names are unique per user (mcp_configs_user_name_key), so the name alone is a keyset.
SELECT mc.id, mc.name, mc.config, mc.enabled, mc.tool_approval, mc.tool_policies,
       mc.created_at, mc.updated_at
FROM faceplate.mcp_configs AS mc
WHERE mc.user_id = $1
  AND ($2::varchar IS NULL OR mc.name > $2::varchar)
ORDER BY mc.name
LIMIT $3;
