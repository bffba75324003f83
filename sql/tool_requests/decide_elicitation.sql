-- name: decide_elicitation :execrows
-- The user's answer to a pending question of a server, in one of their conversations.
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- $3 id :: uuid
-- $4 action :: varchar  (accept | decline | cancel)
-- $5 content :: jsonb  (the accepted answer; null otherwise)
-- returns: the number of rows updated (0 when nothing is pending under that id)
UPDATE faceplate.tool_requests AS tr
SET decision = $4, decided_by = 'user', content = $5, decided_at = now()
WHERE tr.id = $3
  AND tr.conversation_id = $2
  AND tr.user_id = $1
  AND tr.kind = 'elicitation'
  AND tr.decided_at IS NULL
  AND tr.expires_at > now();
