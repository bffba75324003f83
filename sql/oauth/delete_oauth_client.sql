-- name: delete_oauth_client :execrows
-- Forget a registration the authorization server no longer knows, so the next start registers.
-- $1 issuer :: text
-- $2 redirect_uri :: text
-- $3 client_id :: text
-- returns: the number of rows deleted (0 or 1)
DELETE FROM faceplate.oauth_clients AS oc
WHERE oc.issuer = $1
  AND oc.redirect_uri = $2
  AND oc.client_id = $3;
