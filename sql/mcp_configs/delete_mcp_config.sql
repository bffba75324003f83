-- name: delete_mcp_config :execrows
-- Delete the user's MCP config.
-- $1 user_id :: uuid
-- $2 config_id :: uuid
-- returns: the number of rows deleted (0 or 1)
DELETE FROM faceplate.mcp_configs AS mc
WHERE mc.id = $2
  AND mc.user_id = $1;
