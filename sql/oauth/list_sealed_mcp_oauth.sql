-- name: list_sealed_mcp_oauth :many
-- A batch of every config's OAuth secrets by config id, as stored (encrypted): for key rotation.
-- $1 after_config_id :: uuid  (null for the first batch)
-- $2 limit :: int8
-- returns: config_id uuid, client_secret text, access_token text, refresh_token text
SELECT mo.config_id, mo.client_secret, mo.access_token, mo.refresh_token
FROM faceplate.mcp_oauth AS mo
WHERE ($1::uuid IS NULL OR mo.config_id > $1::uuid)
ORDER BY mo.config_id
LIMIT $2;
