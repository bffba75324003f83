-- name: get_conversation :one
-- One conversation if the user owns it, else none.
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- returns: id uuid, title varchar, created_at timestamptz, updated_at timestamptz
SELECT c.id, c.title, c.created_at, c.updated_at
FROM faceplate.conversations AS c
WHERE c.id = $2
  AND c.user_id = $1;
