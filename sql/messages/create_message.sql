-- name: create_message :one
-- Add a message to the user's conversation, touching it (and titling it when untitled), in one statement.
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- $3 id :: uuid
-- $4 role :: varchar
-- $5 content :: text
-- $6 tool_calls :: jsonb  (may be null)
-- $7 tool_results :: jsonb  (may be null)
-- $8 finish_reason :: varchar  (null while an assistant message streams)
-- $9 title_if_untitled :: varchar  (null leaves the title alone)
-- returns: id uuid, conversation_id uuid, role varchar, content text, tool_calls jsonb, tool_results jsonb, finish_reason varchar, created_at timestamptz
-- Nothing is inserted when the conversation is not the user's: the CTE yields no row.
WITH owned AS (
    UPDATE faceplate.conversations AS c
    SET updated_at = now(),
        title = COALESCE(c.title, $9::varchar)
    WHERE c.id = $2
      AND c.user_id = $1
    RETURNING c.id
)
INSERT INTO faceplate.messages AS m
    (id, conversation_id, role, content, tool_calls, tool_results, finish_reason)
SELECT $3, o.id, $4, $5, $6, $7, $8
FROM owned AS o
RETURNING m.id, m.conversation_id, m.role, m.content, m.tool_calls, m.tool_results,
          m.finish_reason, m.created_at;
