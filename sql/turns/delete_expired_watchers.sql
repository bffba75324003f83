-- name: delete_expired_watchers :execrows
-- Forget the watches of instances that stopped renewing them (dead ones).
-- returns: the number of watches deleted
DELETE FROM faceplate.turn_watchers AS w
WHERE w.expires_at < now();
