-- name: create_turn :one
-- Claim the conversation for a new turn owned by this instance, its lease starting now.
-- $1 id :: uuid
-- $2 user_id :: uuid
-- $3 conversation_id :: uuid
-- $4 instance_id :: varchar
-- $5 lease_s :: float8
-- returns: id uuid, epoch int4
-- No row when the conversation is not the user's, or when a turn already runs in it
-- (turns_one_running_idx: one running turn per conversation, whichever instance has it).
INSERT INTO faceplate.turns AS t
    (id, conversation_id, user_id, instance_id, lease_expires_at)
SELECT $1, c.id, c.user_id, $4, now() + make_interval(secs => $5)
FROM faceplate.conversations AS c
WHERE c.id = $3
  AND c.user_id = $2
ON CONFLICT (conversation_id) WHERE status = 'running' DO NOTHING
RETURNING t.id, t.epoch;
