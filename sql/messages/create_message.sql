-- name: create_message :one
-- Add a message to the user's conversation as its new active leaf, touching it (and titling it
-- when untitled), in one statement.
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- $3 id :: uuid
-- $4 role :: varchar
-- $5 content :: text
-- $6 tool_calls :: jsonb  (may be null)
-- $7 tool_results :: jsonb  (may be null)
-- $8 finish_reason :: varchar  (null while an assistant message streams)
-- $9 title_if_untitled :: varchar  (null leaves the title alone)
-- $10 new_branch :: bool  (true: the message hangs under parent_id; false: under the active leaf)
-- $11 parent_id :: uuid  (with new_branch: the parent, null for a new root)
-- $12 model :: varchar  (assistant messages: the model writing it)
-- $13 turn_id :: uuid  (the turn writing it; null only outside a turn, e.g. seeding)
-- $14 epoch :: int4  (the turn's epoch: nothing is written once another instance took it over)
-- $15 usage :: jsonb  (an assistant message stored whole: its usage, or null)
-- returns: id uuid, conversation_id uuid, parent_id uuid, sibling_ids uuid[], role varchar, content text, tool_calls jsonb, tool_results jsonb, finish_reason varchar, model varchar, usage jsonb, created_at timestamptz
-- Nothing is inserted when the conversation is not the user's, or when the parent is not one
-- of its messages: the CTEs yield no row. The conversation row is locked first, so the active
-- leaf read is the one replaced. sibling_ids: the parent's children, oldest first (from
-- messages_conversation_parent_idx), then this message, which the subquery cannot see yet.
-- Nor when the writing turn no longer runs at this epoch: FOR SHARE holds a takeover (which
-- updates the turn's row) until this write commits, and a write after a takeover sees the new
-- epoch.
WITH owned AS (
    SELECT c.id,
           CASE WHEN $10 THEN $11::uuid ELSE c.active_message_id END AS parent_id
    FROM faceplate.conversations AS c
    WHERE c.id = $2
      AND c.user_id = $1
      AND ($13::uuid IS NULL OR EXISTS (
          SELECT 1 FROM faceplate.turns AS t
          WHERE t.id = $13 AND t.epoch = $14 AND t.status = 'running' AND t.conversation_id = $2
          FOR SHARE
      ))
    FOR UPDATE
),
placed AS (
    SELECT o.id AS conversation_id, o.parent_id, COALESCE(p.depth + 1, 0) AS depth,
           CASE WHEN p.depth % 64 = 0 THEN p.id ELSE p.jump_id END AS jump_id
    FROM owned AS o
    LEFT JOIN faceplate.messages AS p ON p.id = o.parent_id AND p.conversation_id = o.id
    WHERE o.parent_id IS NULL OR p.id IS NOT NULL
),
touched AS (
    UPDATE faceplate.conversations AS c
    SET updated_at = now(),
        title = COALESCE(c.title, $9::varchar),
        active_message_id = $3
    FROM placed AS pl
    WHERE c.id = pl.conversation_id
    RETURNING c.id
)
INSERT INTO faceplate.messages AS m
    (id, conversation_id, parent_id, depth, jump_id, role, content, tool_calls, tool_results,
     finish_reason, model, usage)
SELECT $3, t.id, pl.parent_id, pl.depth, pl.jump_id, $4, $5, $6, $7, $8, $12, $15
FROM touched AS t
JOIN placed AS pl ON pl.conversation_id = t.id
RETURNING m.id, m.conversation_id, m.parent_id,
       CASE WHEN m.parent_id IS NULL
            THEN ARRAY(SELECT s.id FROM faceplate.messages AS s
                       WHERE s.conversation_id = m.conversation_id AND s.parent_id IS NULL
                       ORDER BY s.created_at, s.id)
            ELSE ARRAY(SELECT s.id FROM faceplate.messages AS s
                       WHERE s.conversation_id = m.conversation_id AND s.parent_id = m.parent_id
                       ORDER BY s.created_at, s.id)
       END || m.id AS sibling_ids,
          m.role, m.content, m.tool_calls, m.tool_results, m.finish_reason, m.model, m.usage,
          m.created_at;
