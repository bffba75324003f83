-- name: save_oauth_client :one
-- Keep a client just registered, unless one registered meanwhile still holds (then none is
-- returned and the caller reads that one); an expired one is replaced.
-- $1 issuer :: text
-- $2 redirect_uri :: text
-- $3 client_id :: text
-- $4 client_secret :: text  (encrypted; may be null)
-- $5 auth_method :: varchar
-- $6 secret_expires_at :: timestamptz  (may be null: never)
-- returns: issuer text, redirect_uri text, client_id text, client_secret text, auth_method varchar, secret_expires_at timestamptz
INSERT INTO faceplate.oauth_clients AS oc
    (issuer, redirect_uri, client_id, client_secret, auth_method, secret_expires_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT ON CONSTRAINT oauth_clients_pkey DO UPDATE
    SET client_id = EXCLUDED.client_id,
        client_secret = EXCLUDED.client_secret,
        auth_method = EXCLUDED.auth_method,
        secret_expires_at = EXCLUDED.secret_expires_at,
        created_at = now()
    WHERE oc.secret_expires_at IS NOT NULL
      AND oc.secret_expires_at <= now()
RETURNING oc.issuer, oc.redirect_uri, oc.client_id, oc.client_secret, oc.auth_method,
          oc.secret_expires_at;
