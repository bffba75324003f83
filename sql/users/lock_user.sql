-- name: lock_user :one
-- Lock the user's row until the transaction ends, serialising the user's limited writes
-- (their number of MCP configs) across connections and instances.
-- $1 user_id :: uuid
-- returns: id uuid
-- Run it as its own statement, first in the transaction: in READ COMMITTED a statement that
-- waited for the lock still counts with its own older snapshot, the next one sees it all.
SELECT u.id
FROM faceplate.users AS u
WHERE u.id = $1
FOR UPDATE;
