-- name: get_answered_message :scalar
-- The user message that a message answers: the nearest user message at or above it on its
-- branch (the active leaf's, when no message is named); none if there is none, or the
-- conversation is not the user's.
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- $3 message_id :: uuid  (null: the active leaf)
-- returns: id uuid
-- The walk goes up by primary key and stops at the first user message; depth strictly falls.
WITH RECURSIVE up (id, parent_id, role, depth) AS (
    SELECT m.id, m.parent_id, m.role, m.depth
    FROM faceplate.conversations AS c
    JOIN faceplate.messages AS m ON m.id = COALESCE($3::uuid, c.active_message_id)
    WHERE c.id = $2
      AND c.user_id = $1
      AND m.conversation_id = $2
  UNION ALL
    SELECT p.id, p.parent_id, p.role, p.depth
    FROM up AS u
    JOIN faceplate.messages AS p ON p.id = u.parent_id
    WHERE u.role <> 'user'
      AND p.depth < u.depth
)
SELECT u.id
FROM up AS u
WHERE u.role = 'user'
ORDER BY u.depth DESC
LIMIT 1;
