-- name: list_messages :many
-- A page of the active branch of the user's conversation, root first: the messages from its
-- root down to its active leaf whose depth follows the cursor's.
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- $3 after_depth :: int4  (the depth of the previous page's last message; null for the first)
-- $4 limit :: int8  (one more than the page size, to learn whether a next page exists)
-- returns: id uuid, conversation_id uuid, parent_id uuid, sibling_ids uuid[], role varchar, content text, tool_calls text, tool_results text, finish_reason varchar, model varchar, usage text, created_at timestamptz
-- The walk goes up from the leaf by primary key, narrow, and stops at the cursor. Above the
-- page it takes jump_id (64 levels at a time) while that lands below the page's last depth,
-- then single steps through the page: about depth / 64 + 64 + the page's size steps, whatever
-- the depth. Each step must rise (depth strictly falls), so it ends whatever the data. Only
-- the page's rows are then read whole.
-- sibling_ids: the children of the message's parent (the roots, for a root), oldest first,
-- from messages_conversation_parent_idx. tool_calls, tool_results and usage come as the text of
-- their JSONB: the page relays them as they are stored, never decoded.
WITH RECURSIVE branch (id, parent_id, jump_id, depth) AS (
    SELECT m.id, m.parent_id, m.jump_id, m.depth
    FROM faceplate.conversations AS c
    JOIN faceplate.messages AS m ON m.id = c.active_message_id
    WHERE c.id = $2
      AND c.user_id = $1
  UNION ALL
    SELECT p.id, p.parent_id, p.jump_id, p.depth
    FROM branch AS b
    JOIN faceplate.messages AS p
      ON p.id = CASE
          WHEN b.jump_id IS NOT NULL
               AND ((b.depth - 1) / 64) * 64 > COALESCE($3::int4, -1) + $4::int8
          THEN b.jump_id
          ELSE b.parent_id
      END
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
