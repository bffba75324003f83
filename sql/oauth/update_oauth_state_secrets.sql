-- name: update_oauth_state_secrets :execrows
-- Store a pending authorization's secrets encrypted anew, unless it changed or went meanwhile.
-- $1 state_hash :: bytea
-- $2 read_code_verifier :: text
-- $3 read_client_secret :: text
-- $4 code_verifier :: text
-- $5 client_secret :: text
-- returns: the number of rows updated (0 when its callback took it meanwhile)
UPDATE faceplate.oauth_states AS os
SET code_verifier = $4, client_secret = $5
WHERE os.state_hash = $1
  AND os.code_verifier = $2
  AND os.client_secret IS NOT DISTINCT FROM $3::text;
