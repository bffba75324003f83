-- name: notify :scalar
-- Sends a batch of notifications in one statement, so one commit (a notifying commit takes a
-- cluster-wide lock): in array order, which is the order listeners receive them.
-- $1 channels :: text[]
-- $2 payloads :: text[]
-- returns: sent int8
SELECT count(pg_notify(n.channel, n.payload)) AS sent
FROM unnest($1::text[], $2::text[]) AS n (channel, payload);
