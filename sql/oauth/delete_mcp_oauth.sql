-- name: delete_mcp_oauth :one
-- Forget the OAuth row of the user's config and its pending authorizations; the row is
-- returned (tokens still encrypted) so they can be revoked, or none if there was none.
-- $1 user_id :: uuid
-- $2 config_id :: uuid
-- returns: config_id uuid, status varchar, server jsonb, scopes text[], client_id text, client_secret text, client_auth varchar, access_token text, refresh_token text, issued_at timestamptz, expires_at timestamptz, updated_at timestamptz
WITH pending AS (
    DELETE FROM faceplate.oauth_states AS os
    WHERE os.config_id = $2
      AND os.user_id = $1
)
DELETE FROM faceplate.mcp_oauth AS mo
USING faceplate.mcp_configs AS mc
WHERE mo.config_id = $2
  AND mc.id = mo.config_id
  AND mc.user_id = $1
RETURNING mo.config_id, mo.status, mo.server, mo.scopes, mo.client_id, mo.client_secret,
          mo.client_auth, mo.access_token, mo.refresh_token, mo.issued_at, mo.expires_at,
          mo.updated_at;
