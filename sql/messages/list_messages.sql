-- name: list_messages :many
-- A page of the messages of the user's conversation, oldest first.
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- $3 after_created_at :: timestamptz  (null for the first page)
-- $4 after_id :: uuid  (null for the first page)
-- $5 limit :: int8  (one more than the page size, to learn whether a next page exists)
-- returns: id uuid, conversation_id uuid, role varchar, content text, tool_calls jsonb, tool_results jsonb, finish_reason varchar, created_at timestamptz
-- Walks messages_conversation_created_idx; the join only proves ownership. The first page
-- compares with a sentinel below every row rather than "$3 IS NULL OR …", so that a generic
-- plan still seeks the index instead of filtering every row before the cursor.
SELECT m.id, m.conversation_id, m.role, m.content, m.tool_calls, m.tool_results,
       m.finish_reason, m.created_at
FROM faceplate.messages AS m
JOIN faceplate.conversations AS c ON c.id = m.conversation_id
WHERE m.conversation_id = $2
  AND c.user_id = $1
  AND (m.created_at, m.id) > (
      COALESCE($3::timestamptz, '-infinity'),
      COALESCE($4::uuid, '00000000-0000-0000-0000-000000000000')
  )
ORDER BY m.created_at, m.id
LIMIT $5;
