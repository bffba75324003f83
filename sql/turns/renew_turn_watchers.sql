-- name: renew_turn_watchers :execrows
-- The heartbeat: keep this instance's watches of the conversations it still has sockets on,
-- and drop the others, in one statement.
-- $1 instance_id :: varchar
-- $2 conversation_ids :: uuid[]
-- $3 lease_s :: float8
-- returns: the number of watches kept
WITH dropped AS (
    DELETE FROM faceplate.turn_watchers AS d
    WHERE d.instance_id = $1::varchar
      AND NOT (d.conversation_id = ANY ($2::uuid[]))
)
UPDATE faceplate.turn_watchers AS w
SET expires_at = now() + make_interval(secs => $3)
WHERE w.instance_id = $1
  AND w.conversation_id = ANY ($2::uuid[]);
