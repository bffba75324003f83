-- name: renew_turn_leases :many
-- The heartbeat: extend the lease of every turn this process still runs, in one statement.
-- $1 instance_id :: varchar
-- $2 lease_s :: float8
-- $3 turn_ids :: uuid[]  (the turns running in this process)
-- returns: id uuid, epoch int4
-- A turn of this process that is not returned was taken over (its lease had run out). The ids
-- matter with a fixed FACEPLATE_INSTANCE_ID: a restarted instance must not keep alive the
-- turns its dead predecessor left running under the same id; those expire and are swept.
UPDATE faceplate.turns AS t
SET lease_expires_at = now() + make_interval(secs => $2)
WHERE t.instance_id = $1::varchar
  AND t.status = 'running'
  AND t.id = ANY ($3::uuid[])
RETURNING t.id, t.epoch;
