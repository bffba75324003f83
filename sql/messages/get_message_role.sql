-- name: get_message_role :scalar
-- The role of a message of the user's conversation; none if it is not one of its messages.
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- $3 message_id :: uuid
-- returns: role varchar
SELECT m.role
FROM faceplate.messages AS m
JOIN faceplate.conversations AS c ON c.id = m.conversation_id
WHERE m.id = $3
  AND m.conversation_id = $2
  AND c.user_id = $1;
