-- name: decide_approval :one
-- The user's answer to a pending approval of one of their conversation's tool calls; none when
-- nothing is pending for that call (already answered, expired, unknown, or not theirs).
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- $3 tool_call_id :: text
-- $4 decision :: varchar  (allow | deny)
-- $5 remember :: bool
-- returns: id uuid, config_id uuid, tool text
-- The first UPDATE wins: a second answer, on any instance, waits on the row lock and then no
-- longer matches decided_at IS NULL.
UPDATE faceplate.tool_requests AS tr
SET decision = $4, decided_by = 'user', remember = $5, decided_at = now()
WHERE tr.conversation_id = $2
  AND tr.tool_call_id = $3
  AND tr.kind = 'approval'
  AND tr.user_id = $1
  AND tr.decided_at IS NULL
  AND tr.expires_at > now()
RETURNING tr.id, tr.config_id, tr.tool;
