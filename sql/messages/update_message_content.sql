-- name: update_message_content :execrows
-- Store the text streamed so far into an assistant message that is still streaming.
-- $1 user_id :: uuid
-- $2 message_id :: uuid
-- $3 content :: text
-- $4 turn_id :: uuid  (the turn writing it; null only outside a turn)
-- $5 epoch :: int4  (nothing is written once another instance took the turn over)
-- returns: the number of rows updated (0 once the message is finished or not the user's)
UPDATE faceplate.messages AS m
SET content = $3
FROM faceplate.conversations AS c
WHERE m.id = $2
  AND m.finish_reason IS NULL
  AND m.role = 'assistant'
  AND c.id = m.conversation_id
  AND c.user_id = $1
  AND ($4::uuid IS NULL OR EXISTS (
      SELECT 1 FROM faceplate.turns AS t
      WHERE t.id = $4 AND t.epoch = $5 AND t.status = 'running' AND t.conversation_id = m.conversation_id
      FOR SHARE
  ));
