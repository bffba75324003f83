-- name: count_user_turns :one
-- What a new turn of the user in this conversation must pass: is one running in it, how many
-- of the user's turns run (any instance), how many started in the last 60 s, and when the
-- oldest of those leaves the window.
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- returns: busy bool, running int8, recent int8, window_frees_in_s float8
-- Exact only after lock_user in the same transaction, as its own earlier statement: this
-- statement's snapshot must be taken once the lock is held, so that it sees every turn
-- committed by a claim that held the lock before.
SELECT
    EXISTS (
        SELECT 1 FROM faceplate.turns AS b
        WHERE b.conversation_id = $2 AND b.status = 'running'
    ) AS busy,
    (SELECT count(*) FROM faceplate.turns AS r
     WHERE r.user_id = $1 AND r.status = 'running') AS running,
    w.recent,
    COALESCE(EXTRACT(EPOCH FROM (w.oldest + interval '60 seconds' - now()))::float8, 0)
        AS window_frees_in_s
FROM (
    SELECT count(*) AS recent, min(s.started_at) AS oldest
    FROM faceplate.turns AS s
    WHERE s.user_id = $1
      AND s.started_at > now() - interval '60 seconds'
) AS w;
