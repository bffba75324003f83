-- name: touch_conversation :execrows
-- Move the user's conversation to the top of their list.
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- returns: the number of rows updated (0 or 1)
UPDATE faceplate.conversations AS c
SET updated_at = now()
WHERE c.id = $2
  AND c.user_id = $1;
