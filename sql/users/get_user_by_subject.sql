-- name: get_user_by_subject :one
-- The user with this token subject, or none.
-- $1 subject_id :: text
-- returns: id uuid, email varchar, subject_id varchar, created_at timestamptz
SELECT u.id, u.email, u.subject_id, u.created_at
FROM faceplate.users AS u
WHERE u.subject_id = $1;
