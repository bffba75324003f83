-- name: store_oauth_tokens :execrows
-- The user's config is connected: its tokens, scopes and the server and client that issued them.
-- Nothing is stored when the config is gone or not the user's.
-- $1 user_id :: uuid
-- $2 config_id :: uuid
-- $3 server :: jsonb
-- $4 scopes :: text[]
-- $5 client_id :: text
-- $6 client_secret :: text  (encrypted; may be null)
-- $7 client_auth :: varchar
-- $8 access_token :: text  (encrypted)
-- $9 refresh_token :: text  (encrypted; may be null)
-- $10 expires_in_s :: float8  (may be null: no expiry given)
-- returns: the number of rows written (0 or 1)
INSERT INTO faceplate.mcp_oauth AS mo
    (config_id, status, server, scopes, client_id, client_secret, client_auth, access_token,
     refresh_token, issued_at, expires_at, updated_at)
SELECT mc.id, 'connected', $3::jsonb, $4::text[], $5::text, $6::text, $7::varchar, $8::text,
       $9::text, now(), now() + make_interval(secs => $10::float8), now()
FROM faceplate.mcp_configs AS mc
WHERE mc.id = $2
  AND mc.user_id = $1
ON CONFLICT ON CONSTRAINT mcp_oauth_pkey DO UPDATE
    SET status = 'connected',
        server = EXCLUDED.server,
        scopes = EXCLUDED.scopes,
        client_id = EXCLUDED.client_id,
        client_secret = EXCLUDED.client_secret,
        client_auth = EXCLUDED.client_auth,
        access_token = EXCLUDED.access_token,
        refresh_token = EXCLUDED.refresh_token,
        issued_at = EXCLUDED.issued_at,
        expires_at = EXCLUDED.expires_at,
        updated_at = EXCLUDED.updated_at;
