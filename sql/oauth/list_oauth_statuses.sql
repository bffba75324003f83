-- name: list_oauth_statuses :many
-- The OAuth status of those of the user's configs that have one.
-- $1 user_id :: uuid
-- $2 config_ids :: uuid[]
-- returns: config_id uuid, status varchar, scopes text[], expires_at timestamptz
SELECT mo.config_id, mo.status, mo.scopes, mo.expires_at
FROM faceplate.mcp_oauth AS mo
JOIN faceplate.mcp_configs AS mc ON mc.id = mo.config_id
WHERE mo.config_id = ANY ($2::uuid[])
  AND mc.user_id = $1;
