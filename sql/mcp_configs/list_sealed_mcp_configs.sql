-- name: list_sealed_mcp_configs :many
-- A batch of every user's MCP configs by id, as stored (secrets encrypted): for key rotation.
-- $1 after_id :: uuid  (null for the first batch)
-- $2 limit :: int8
-- returns: id uuid, config jsonb
SELECT mc.id, mc.config
FROM faceplate.mcp_configs AS mc
WHERE ($1::uuid IS NULL OR mc.id > $1::uuid)
ORDER BY mc.id
LIMIT $2;
