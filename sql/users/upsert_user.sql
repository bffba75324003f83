-- name: upsert_user :one
-- The user with this subject, created on first sight; its email follows the token's.
-- $1 id :: uuid  (used only when the row is new)
-- $2 subject_id :: varchar
-- $3 email :: varchar
-- returns: id uuid, email varchar, subject_id varchar, created_at timestamptz
-- A changed email that another subject holds raises users_email_key.
INSERT INTO faceplate.users AS u (id, subject_id, email)
VALUES ($1, $2, $3)
ON CONFLICT ON CONSTRAINT users_subject_id_key
    DO UPDATE SET email = EXCLUDED.email
RETURNING u.id, u.email, u.subject_id, u.created_at;
