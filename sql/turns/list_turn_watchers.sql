-- name: list_turn_watchers :many
-- The other live instances with a socket on the conversation.
-- $1 conversation_id :: uuid
-- $2 instance_id :: varchar  (this instance, left out)
-- returns: instance_id varchar
SELECT w.instance_id
FROM faceplate.turn_watchers AS w
WHERE w.conversation_id = $1
  AND w.instance_id <> $2::varchar
  AND w.expires_at > now();
