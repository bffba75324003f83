-- name: list_history :many
-- Every message of the user's conversation, oldest first: what the model is sent.
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- returns: id uuid, conversation_id uuid, role varchar, content text, tool_calls jsonb, tool_results jsonb, finish_reason varchar, created_at timestamptz
SELECT m.id, m.conversation_id, m.role, m.content, m.tool_calls, m.tool_results,
       m.finish_reason, m.created_at
FROM faceplate.messages AS m
JOIN faceplate.conversations AS c ON c.id = m.conversation_id
WHERE m.conversation_id = $2
  AND c.user_id = $1
ORDER BY m.created_at, m.id;
