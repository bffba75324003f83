-- name: interrupt_streaming_messages :execrows
-- A taken-over turn: the assistant text its dead owner left streaming becomes interrupted.
-- $1 conversation_id :: uuid
-- $2 turn_id :: uuid
-- $3 epoch :: int4
-- returns: the number of messages marked
UPDATE faceplate.messages AS m
SET finish_reason = 'interrupted'
WHERE m.conversation_id = $1
  AND m.role = 'assistant'
  AND m.finish_reason IS NULL
  AND EXISTS (
      SELECT 1 FROM faceplate.turns AS t
      WHERE t.id = $2 AND t.epoch = $3 AND t.status = 'running' AND t.conversation_id = $1
      FOR SHARE
  );
