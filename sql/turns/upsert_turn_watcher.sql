-- name: upsert_turn_watcher :exec
-- This instance has a socket on the conversation: send it the conversation's turn frames.
-- $1 conversation_id :: uuid
-- $2 instance_id :: varchar
-- $3 lease_s :: float8
-- returns: nothing
-- Nothing is written when the conversation is gone (the foreign key is checked first).
INSERT INTO faceplate.turn_watchers AS w (conversation_id, instance_id, expires_at)
SELECT c.id, $2, now() + make_interval(secs => $3)
FROM faceplate.conversations AS c
WHERE c.id = $1
ON CONFLICT (conversation_id, instance_id)
DO UPDATE SET expires_at = EXCLUDED.expires_at;
