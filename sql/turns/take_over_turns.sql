-- name: take_over_turns :many
-- Take over running turns whose lease ran out (their owner died or was cut off): this
-- instance becomes their owner at the next epoch, so the old owner's writes fail from now on.
-- $1 instance_id :: varchar
-- $2 lease_s :: float8
-- $3 limit :: int8
-- returns: id uuid, conversation_id uuid, user_id uuid, epoch int4, previous_instance_id varchar
-- One winner: SKIP LOCKED keeps two sweepers off the same rows, and the outer WHERE is checked
-- again on the row as the other sweeper left it (READ COMMITTED), so a renewed lease is kept.
UPDATE faceplate.turns AS t
SET instance_id = $1,
    epoch = t.epoch + 1,
    lease_expires_at = now() + make_interval(secs => $2)
FROM (
    SELECT e.id, e.instance_id
    FROM faceplate.turns AS e
    WHERE e.status = 'running'
      AND e.lease_expires_at < now()
    ORDER BY e.lease_expires_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED
) AS x
WHERE t.id = x.id
  AND t.status = 'running'
  AND t.lease_expires_at < now()
RETURNING t.id, t.conversation_id, t.user_id, t.epoch, x.instance_id AS previous_instance_id;
