-- name: get_user :one
-- One user by id, or none.
-- $1 user_id :: uuid
-- returns: id uuid, email varchar, subject_id varchar, created_at timestamptz
SELECT u.id, u.email, u.subject_id, u.created_at
FROM faceplate.users AS u
WHERE u.id = $1;
