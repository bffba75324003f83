-- name: create_oauth_state :exec
-- A pending authorization of the user's config, valid for lifetime_s; expired ones go.
-- $1 state_hash :: bytea
-- $2 user_id :: uuid
-- $3 config_id :: uuid
-- $4 code_verifier :: text  (encrypted)
-- $5 redirect_uri :: text
-- $6 server :: jsonb
-- $7 scopes :: text[]
-- $8 client_id :: text
-- $9 client_secret :: text  (encrypted; may be null)
-- $10 client_auth :: varchar
-- $11 lifetime_s :: float8
-- returns: nothing
WITH expired AS (
    DELETE FROM faceplate.oauth_states AS os
    WHERE os.expires_at <= now()
)
INSERT INTO faceplate.oauth_states
    (state_hash, user_id, config_id, code_verifier, redirect_uri, server, scopes, client_id,
     client_secret, client_auth, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7::text[], $8, $9, $10,
        now() + make_interval(secs => $11::float8));
