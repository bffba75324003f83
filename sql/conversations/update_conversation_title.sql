-- name: update_conversation_title :one
-- Set the title of the user's conversation; none if it is not theirs.
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- $3 title :: varchar  (may be null)
-- returns: id uuid, title varchar, created_at timestamptz, updated_at timestamptz
UPDATE faceplate.conversations AS c
SET title = $3, updated_at = now()
WHERE c.id = $2
  AND c.user_id = $1
RETURNING c.id, c.title, c.created_at, c.updated_at;
