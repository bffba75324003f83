-- name: update_active_message :one
-- Make the newest leaf under a message (itself when it has no children) the active one of the
-- user's conversation; none if the conversation is not theirs, the message not in it, or a
-- turn runs in it on any instance (the turns table says so in this same statement).
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- $3 message_id :: uuid
-- returns: id uuid, title varchar, model varchar, archived bool, active_message_id uuid, created_at timestamptz, updated_at timestamptz
-- A child is always written after its parent, so the newest message of the subtree has no
-- children: it is the newest leaf. The walk down uses messages_conversation_parent_idx, and
-- each step goes one level deeper, so it ends at the subtree's leaves whatever the data.
WITH RECURSIVE below (id, created_at, depth) AS (
    SELECT m.id, m.created_at, m.depth
    FROM faceplate.messages AS m
    JOIN faceplate.conversations AS owner ON owner.id = m.conversation_id
    WHERE m.id = $3
      AND m.conversation_id = $2
      AND owner.user_id = $1
  UNION ALL
    SELECT k.id, k.created_at, k.depth
    FROM below AS b
    JOIN faceplate.messages AS k ON k.conversation_id = $2 AND k.parent_id = b.id
    WHERE k.depth > b.depth
),
leaf AS (
    SELECT b.id
    FROM below AS b
    ORDER BY b.created_at DESC, b.id DESC
    LIMIT 1
)
UPDATE faceplate.conversations AS c
SET active_message_id = l.id
FROM leaf AS l
WHERE c.id = $2
  AND c.user_id = $1
  AND NOT EXISTS (
      SELECT 1 FROM faceplate.turns AS t WHERE t.conversation_id = $2 AND t.status = 'running'
  )
RETURNING c.id, c.title, c.model, c.archived, c.active_message_id, c.created_at, c.updated_at;
