-- name: create_conversation :one
-- A new conversation owned by the user.
-- $1 id :: uuid
-- $2 user_id :: uuid
-- $3 title :: varchar  (may be null)
-- returns: id uuid, title varchar, created_at timestamptz, updated_at timestamptz
INSERT INTO faceplate.conversations AS c (id, user_id, title)
VALUES ($1, $2, $3)
RETURNING c.id, c.title, c.created_at, c.updated_at;
