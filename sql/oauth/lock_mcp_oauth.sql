-- name: lock_mcp_oauth :one
-- The OAuth row of the user's config, locked until the transaction ends: a refresh holds it
-- so that one runs at a time across every instance, and waiters then read what it stored.
-- $1 user_id :: uuid
-- $2 config_id :: uuid
-- returns: config_id uuid, status varchar, server jsonb, scopes text[], client_id text, client_secret text, client_auth varchar, access_token text, refresh_token text, issued_at timestamptz, expires_at timestamptz, updated_at timestamptz
SELECT mo.config_id, mo.status, mo.server, mo.scopes, mo.client_id, mo.client_secret,
       mo.client_auth, mo.access_token, mo.refresh_token, mo.issued_at, mo.expires_at,
       mo.updated_at
FROM faceplate.mcp_oauth AS mo
JOIN faceplate.mcp_configs AS mc ON mc.id = mo.config_id
WHERE mo.config_id = $2
  AND mc.user_id = $1
FOR UPDATE OF mo;
