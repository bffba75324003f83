-- name: finish_message :one
-- End a streaming assistant message: its final text, tool calls, finish reason and usage.
-- A message already finished (say, marked interrupted) is left alone and none is returned.
-- $1 user_id :: uuid
-- $2 message_id :: uuid
-- $3 content :: text
-- $4 tool_calls :: jsonb  (may be null)
-- $5 finish_reason :: varchar
-- $6 usage :: jsonb  (null when the provider reported none)
-- $7 turn_id :: uuid  (the turn writing it; null only outside a turn)
-- $8 epoch :: int4  (nothing is written once another instance took the turn over)
-- returns: id uuid, conversation_id uuid, parent_id uuid, sibling_ids uuid[], role varchar, content text, tool_calls jsonb, tool_results jsonb, finish_reason varchar, model varchar, usage jsonb, created_at timestamptz
-- sibling_ids: the children of the message's parent (the roots, for a root), oldest first,
-- from messages_conversation_parent_idx.
UPDATE faceplate.messages AS m
SET content = $3, tool_calls = $4, finish_reason = $5, usage = $6
FROM faceplate.conversations AS c
WHERE m.id = $2
  AND m.role = 'assistant'
  AND m.finish_reason IS NULL
  AND c.id = m.conversation_id
  AND c.user_id = $1
  AND ($7::uuid IS NULL OR EXISTS (
      SELECT 1 FROM faceplate.turns AS t
      WHERE t.id = $7 AND t.epoch = $8 AND t.status = 'running'
        AND t.conversation_id = m.conversation_id
      FOR SHARE
  ))
RETURNING m.id, m.conversation_id, m.parent_id,
       CASE WHEN m.parent_id IS NULL
            THEN ARRAY(SELECT s.id FROM faceplate.messages AS s
                       WHERE s.conversation_id = m.conversation_id AND s.parent_id IS NULL
                       ORDER BY s.created_at, s.id)
            ELSE ARRAY(SELECT s.id FROM faceplate.messages AS s
                       WHERE s.conversation_id = m.conversation_id AND s.parent_id = m.parent_id
                       ORDER BY s.created_at, s.id)
       END AS sibling_ids,
          m.role, m.content, m.tool_calls, m.tool_results, m.finish_reason, m.model, m.usage,
          m.created_at;
