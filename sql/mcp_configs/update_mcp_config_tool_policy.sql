-- name: update_mcp_config_tool_policy :execrows
-- Set one tool's policy on the user's MCP config (an answer the user asked to remember); the
-- other tools' policies stay as they are.
-- $1 user_id :: uuid
-- $2 config_id :: uuid
-- $3 tool :: text  (the server's own tool name)
-- $4 policy :: text  (allow | ask | deny)
-- returns: the number of rows updated (0 when the config is not the user's, or went)
-- One statement, so two tools remembered at once do not overwrite each other's policy.
UPDATE faceplate.mcp_configs AS mc
SET tool_policies = mc.tool_policies || jsonb_build_object($3::text, $4::text),
    updated_at = now()
WHERE mc.id = $2
  AND mc.user_id = $1;
