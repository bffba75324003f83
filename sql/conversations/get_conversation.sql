-- name: get_conversation :one
-- One conversation if the user owns it, else none.
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- returns: id uuid, title varchar, model varchar, archived bool, active_message_id uuid, created_at timestamptz, updated_at timestamptz
SELECT c.id, c.title, c.model, c.archived, c.active_message_id, c.created_at, c.updated_at
FROM faceplate.conversations AS c
WHERE c.id = $2
  AND c.user_id = $1;
