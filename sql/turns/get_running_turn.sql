-- name: get_running_turn :one
-- The conversation's running turn, if any, and the instance that owns it.
-- $1 conversation_id :: uuid
-- returns: id uuid, instance_id varchar, epoch int4
SELECT t.id, t.instance_id, t.epoch
FROM faceplate.turns AS t
WHERE t.conversation_id = $1
  AND t.status = 'running';
