-- name: finish_message :one
-- End a streaming assistant message: its final text, tool calls and finish reason.
-- A message already finished (say, marked interrupted) is left alone and none is returned.
-- $1 user_id :: uuid
-- $2 message_id :: uuid
-- $3 content :: text
-- $4 tool_calls :: jsonb  (may be null)
-- $5 finish_reason :: varchar
-- returns: id uuid, conversation_id uuid, role varchar, content text, tool_calls jsonb, tool_results jsonb, finish_reason varchar, created_at timestamptz
UPDATE faceplate.messages AS m
SET content = $3, tool_calls = $4, finish_reason = $5
FROM faceplate.conversations AS c
WHERE m.id = $2
  AND m.role = 'assistant'
  AND m.finish_reason IS NULL
  AND c.id = m.conversation_id
  AND c.user_id = $1
RETURNING m.id, m.conversation_id, m.role, m.content, m.tool_calls, m.tool_results,
          m.finish_reason, m.created_at;
