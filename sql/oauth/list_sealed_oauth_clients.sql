-- name: list_sealed_oauth_clients :many
-- A batch of the registered clients that have a secret, by key, as stored: for key rotation.
-- $1 after_issuer :: text  (null for the first batch)
-- $2 after_redirect_uri :: text
-- $3 limit :: int8
-- returns: issuer text, redirect_uri text, client_secret text
SELECT oc.issuer, oc.redirect_uri, oc.client_secret
FROM faceplate.oauth_clients AS oc
WHERE oc.client_secret IS NOT NULL
  AND ($1::text IS NULL OR (oc.issuer, oc.redirect_uri) > ($1::text, $2::text))
ORDER BY oc.issuer, oc.redirect_uri
LIMIT $3;
