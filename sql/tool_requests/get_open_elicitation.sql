-- name: get_open_elicitation :scalar
-- A pending question of a server to the user in one of their conversations: its frame (with
-- the schema the answer must match); none when nothing is pending under that id.
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- $3 id :: uuid
-- returns: frame jsonb
SELECT tr.frame
FROM faceplate.tool_requests AS tr
WHERE tr.id = $3
  AND tr.conversation_id = $2
  AND tr.user_id = $1
  AND tr.kind = 'elicitation'
  AND tr.decided_at IS NULL
  AND tr.expires_at > now();
