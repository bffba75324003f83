-- name: update_message_content :execrows
-- Store the text streamed so far into an assistant message that is still streaming.
-- $1 user_id :: uuid
-- $2 message_id :: uuid
-- $3 content :: text
-- returns: the number of rows updated (0 once the message is finished or not the user's)
UPDATE faceplate.messages AS m
SET content = $3
FROM faceplate.conversations AS c
WHERE m.id = $2
  AND m.finish_reason IS NULL
  AND m.role = 'assistant'
  AND c.id = m.conversation_id
  AND c.user_id = $1;
