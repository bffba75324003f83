-- name: finish_turn :execrows
-- End a running turn with its status, if the caller still holds it at this epoch.
-- $1 id :: uuid
-- $2 epoch :: int4
-- $3 status :: varchar
-- returns: the number of turns ended (0: it was taken over, or the conversation is gone)
UPDATE faceplate.turns AS t
SET status = $3, ended_at = now()
WHERE t.id = $1
  AND t.epoch = $2
  AND t.status = 'running';
