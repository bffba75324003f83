-- name: update_oauth_client_secret :execrows
-- Store a registered client's secret encrypted anew, unless it changed since it was read.
-- $1 issuer :: text
-- $2 redirect_uri :: text
-- $3 read_client_secret :: text
-- $4 client_secret :: text
-- returns: the number of rows updated (0 when it was registered again meanwhile)
UPDATE faceplate.oauth_clients AS oc
SET client_secret = $4
WHERE oc.issuer = $1
  AND oc.redirect_uri = $2
  AND oc.client_secret = $3;
