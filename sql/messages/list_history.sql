-- name: list_history :many
-- The branch of the user's conversation that ends at a message (by default its active leaf):
-- from its root down to that message, root first. What the model is sent.
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- $3 leaf_id :: uuid  (null: the active leaf)
-- returns: id uuid, conversation_id uuid, parent_id uuid, role varchar, content text, tool_calls jsonb, tool_results jsonb, finish_reason varchar, model varchar, usage jsonb, created_at timestamptz
-- The walk goes up by primary key and carries each row whole (every one is sent), so no row
-- is read twice. Each step must rise one level (depth strictly falls), so it ends within
-- depth + 1 steps whatever the data. No sibling_ids: the model needs none.
WITH RECURSIVE branch AS (
    SELECT m.id, m.conversation_id, m.parent_id, m.depth, m.role, m.content, m.tool_calls,
           m.tool_results, m.finish_reason, m.model, m.usage, m.created_at
    FROM faceplate.conversations AS c
    JOIN faceplate.messages AS m ON m.id = COALESCE($3::uuid, c.active_message_id)
    WHERE c.id = $2
      AND c.user_id = $1
      AND m.conversation_id = $2
  UNION ALL
    SELECT p.id, p.conversation_id, p.parent_id, p.depth, p.role, p.content, p.tool_calls,
           p.tool_results, p.finish_reason, p.model, p.usage, p.created_at
    FROM branch AS b
    JOIN faceplate.messages AS p ON p.id = b.parent_id
    WHERE p.depth < b.depth
)
SELECT b.id, b.conversation_id, b.parent_id, b.role, b.content, b.tool_calls, b.tool_results,
       b.finish_reason, b.model, b.usage, b.created_at
FROM branch AS b
ORDER BY b.depth;
