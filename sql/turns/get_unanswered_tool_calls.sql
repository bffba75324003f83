-- name: get_unanswered_tool_calls :one
-- The tool calls of the conversation's newest message, when that is an assistant message
-- asking for tools: its turn died before their results were stored.
-- $1 conversation_id :: uuid
-- returns: id uuid, tool_calls jsonb
-- A turn stores each step's results in one tool message right after it, so a call without a
-- result can only be in the newest message. Walks messages_conversation_created_idx backwards.
SELECT n.id, n.tool_calls
FROM (
    SELECT m.id, m.role, m.tool_calls
    FROM faceplate.messages AS m
    WHERE m.conversation_id = $1
    ORDER BY m.created_at DESC, m.id DESC
    LIMIT 1
) AS n
WHERE n.role = 'assistant'
  AND n.tool_calls IS NOT NULL
  AND jsonb_array_length(n.tool_calls) > 0;
