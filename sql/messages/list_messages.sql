-- name: list_messages :many
-- A page of the active branch of the user's conversation, root first: the messages from its
-- root down to its active leaf whose depth follows the cursor's.
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- $3 after_depth :: int4  (the depth of the previous page's last message; null for the first)
-- $4 limit :: int8  (one more than the page size, to learn whether a next page exists)
-- returns: id uuid, conversation_id uuid, parent_id uuid, sibling_ids uuid[], role varchar, content text, tool_calls text, tool_results text, finish_reason varchar, model varchar, usage text, created_at timestamptz
-- The walk goes up from the leaf by primary key, narrow (id, parent, depth), and stops at the
-- cursor. Each step must rise one level (depth strictly falls), so it ends within depth + 1
-- steps whatever the data. Only the page's rows are then read whole.
-- sibling_ids: the children of the message's parent (the roots, for a root), oldest first,
-- from messages_conversation_parent_idx. tool_calls, tool_results and usage come as the text of
-- their JSONB: the page relays them as they are stored, never decoded.
WITH RECURSIVE branch (id, parent_id, depth) AS (
    SELECT m.id, m.parent_id, m.depth
    FROM faceplate.conversations AS c
    JOIN faceplate.messages AS m ON m.id = c.active_message_id
    WHERE c.id = $2
      AND c.user_id = $1
  UNION ALL
    SELECT p.id, p.parent_id, p.depth
    FROM branch AS b
    JOIN faceplate.messages AS p ON p.id = b.parent_id
    WHERE p.depth < b.depth
      AND p.depth > COALESCE($3::int4, -1)
),
page AS (
    SELECT b.id, b.depth
    FROM branch AS b
    WHERE b.depth > COALESCE($3::int4, -1)
    ORDER BY b.depth
    LIMIT $4
)
SELECT m.id, m.conversation_id, m.parent_id,
       CASE WHEN m.parent_id IS NULL
            THEN ARRAY(SELECT s.id FROM faceplate.messages AS s
                       WHERE s.conversation_id = m.conversation_id AND s.parent_id IS NULL
                       ORDER BY s.created_at, s.id)
            ELSE ARRAY(SELECT s.id FROM faceplate.messages AS s
                       WHERE s.conversation_id = m.conversation_id AND s.parent_id = m.parent_id
                       ORDER BY s.created_at, s.id)
       END AS sibling_ids,
       m.role, m.content, m.tool_calls::text AS tool_calls, m.tool_results::text AS tool_results,
       m.finish_reason, m.model, m.usage::text AS usage, m.created_at
FROM page AS pg
JOIN faceplate.messages AS m ON m.id = pg.id
ORDER BY pg.depth;
