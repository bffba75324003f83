-- name: update_oauth_tokens :one
-- Tokens a refresh brought, written by the holder of the row's lock (lock_mcp_oauth).
-- $1 config_id :: uuid
-- $2 access_token :: text  (encrypted)
-- $3 refresh_token :: text  (encrypted; may be null)
-- $4 scopes :: text[]
-- $5 expires_in_s :: float8  (may be null: no expiry given)
-- returns: issued_at timestamptz, expires_at timestamptz, updated_at timestamptz
UPDATE faceplate.mcp_oauth AS mo
SET access_token = $2,
    refresh_token = $3,
    scopes = $4::text[],
    issued_at = now(),
    expires_at = now() + make_interval(secs => $5::float8),
    updated_at = now()
WHERE mo.config_id = $1
  AND mo.status = 'connected'
RETURNING mo.issued_at, mo.expires_at, mo.updated_at;
