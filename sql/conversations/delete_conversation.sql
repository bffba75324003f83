-- name: delete_conversation :execrows
-- Delete the user's conversation and, by cascade, its messages.
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- returns: the number of rows deleted (0 or 1)
DELETE FROM faceplate.conversations AS c
WHERE c.id = $2
  AND c.user_id = $1;
