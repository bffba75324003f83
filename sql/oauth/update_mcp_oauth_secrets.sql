-- name: update_mcp_oauth_secrets :execrows
-- Store a config's OAuth secrets encrypted anew, unless they changed since they were read.
-- $1 config_id :: uuid
-- $2 read_client_secret :: text  (each as it was read; null where none)
-- $3 read_access_token :: text
-- $4 read_refresh_token :: text
-- $5 client_secret :: text
-- $6 access_token :: text
-- $7 refresh_token :: text
-- returns: the number of rows updated (0 when a refresh or a new grant came meanwhile)
-- updated_at stays: the grant is unchanged, only how its secrets are sealed.
UPDATE faceplate.mcp_oauth AS mo
SET client_secret = $5, access_token = $6, refresh_token = $7
WHERE mo.config_id = $1
  AND mo.client_secret IS NOT DISTINCT FROM $2::text
  AND mo.access_token IS NOT DISTINCT FROM $3::text
  AND mo.refresh_token IS NOT DISTINCT FROM $4::text;
