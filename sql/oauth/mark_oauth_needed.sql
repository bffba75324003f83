-- name: mark_oauth_needed :execrows
-- The config's server wants (new) authorization: its tokens are dropped. A connected row is
-- demoted only if it is still the version the caller saw rejected (updated_at), so a grant
-- stored meanwhile by a callback is kept. With a null server the one known is kept.
-- $1 config_id :: uuid
-- $2 server :: jsonb  (may be null)
-- $3 scopes :: text[]
-- $4 seen_updated_at :: timestamptz  (may be null: no row was seen)
-- returns: the number of rows written (0 or 1)
INSERT INTO faceplate.mcp_oauth AS mo (config_id, status, server, scopes, updated_at)
SELECT mc.id, 'needs_authorization', $2::jsonb, $3::text[], now()
FROM faceplate.mcp_configs AS mc
WHERE mc.id = $1
ON CONFLICT ON CONSTRAINT mcp_oauth_pkey DO UPDATE
    SET status = 'needs_authorization',
        server = COALESCE(EXCLUDED.server, mo.server),
        scopes = CASE WHEN EXCLUDED.server IS NULL THEN mo.scopes ELSE EXCLUDED.scopes END,
        client_id = NULL,
        client_secret = NULL,
        client_auth = NULL,
        access_token = NULL,
        refresh_token = NULL,
        issued_at = NULL,
        expires_at = NULL,
        updated_at = now()
    WHERE mo.status <> 'connected'
       OR mo.updated_at = $4::timestamptz;
