-- name: delete_ended_turns :execrows
-- Forget turns that ended over a day ago: only the last minute's are ever counted.
-- $1 limit :: int8
-- returns: the number of turns deleted
DELETE FROM faceplate.turns AS t
WHERE t.id IN (
    SELECT o.id FROM faceplate.turns AS o
    WHERE o.status <> 'running'
      AND o.started_at < now() - interval '1 day'
    LIMIT $1
);
