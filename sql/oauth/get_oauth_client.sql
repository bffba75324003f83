-- name: get_oauth_client :one
-- The client registered with an authorization server for a redirect URI, or none.
-- $1 issuer :: text
-- $2 redirect_uri :: text
-- returns: issuer text, redirect_uri text, client_id text, client_secret text, auth_method varchar, secret_expires_at timestamptz
SELECT oc.issuer, oc.redirect_uri, oc.client_id, oc.client_secret, oc.auth_method,
       oc.secret_expires_at
FROM faceplate.oauth_clients AS oc
WHERE oc.issuer = $1
  AND oc.redirect_uri = $2;
