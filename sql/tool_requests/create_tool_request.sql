-- name: create_tool_request :exec
-- Store what a turn asks the user, pending until it is decided or expires_at passes.
-- $1 id :: uuid
-- $2 user_id :: uuid
-- $3 conversation_id :: uuid
-- $4 turn_id :: uuid
-- $5 kind :: varchar  (approval | elicitation)
-- $6 tool_call_id :: text
-- $7 config_id :: uuid  (null when not known)
-- $8 tool :: text  (the server's tool name; null when not known)
-- $9 frame :: jsonb  (the request frame as sent)
-- $10 timeout_s :: float8  (how long it may wait for the person)
-- returns: nothing
INSERT INTO faceplate.tool_requests AS tr
    (id, user_id, conversation_id, turn_id, kind, tool_call_id, config_id, tool, frame,
     expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(secs => $10));
