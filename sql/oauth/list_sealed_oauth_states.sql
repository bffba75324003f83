-- name: list_sealed_oauth_states :many
-- A batch of the pending authorizations' secrets by state hash, as stored: for key rotation.
-- $1 after_state_hash :: bytea  (null for the first batch)
-- $2 limit :: int8
-- returns: state_hash bytea, code_verifier text, client_secret text
SELECT os.state_hash, os.code_verifier, os.client_secret
FROM faceplate.oauth_states AS os
WHERE ($1::bytea IS NULL OR os.state_hash > $1::bytea)
ORDER BY os.state_hash
LIMIT $2;
