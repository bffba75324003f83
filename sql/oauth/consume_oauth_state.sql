-- name: consume_oauth_state :one
-- Take a pending authorization back, once: the row is deleted whether or not it expired.
-- $1 state_hash :: bytea
-- returns: user_id uuid, config_id uuid, code_verifier text, redirect_uri text, server jsonb, scopes text[], client_id text, client_secret text, client_auth varchar, expired bool
DELETE FROM faceplate.oauth_states AS os
WHERE os.state_hash = $1
RETURNING os.user_id, os.config_id, os.code_verifier, os.redirect_uri, os.server, os.scopes,
          os.client_id, os.client_secret, os.client_auth, os.expires_at <= now() AS expired;
