-- name: mark_streaming_interrupted :execrows
-- At start-up: every assistant message left streaming by a dead process becomes interrupted.
-- returns: the number of messages marked
-- The predicate matches messages_streaming_idx, so this touches only streaming rows.
UPDATE faceplate.messages AS m
SET finish_reason = 'interrupted'
WHERE m.role = 'assistant'
  AND m.finish_reason IS NULL;
