-- name: count_tokens_today :scalar
-- The user's tokens (input and output, every model) of the current UTC day.
-- $1 user_id :: uuid
-- returns: tokens int8
SELECT COALESCE(sum(u.input_tokens + u.output_tokens), 0)::int8 AS tokens
FROM faceplate.token_usage AS u
WHERE u.user_id = $1
  AND u.day = (now() AT TIME ZONE 'UTC')::date;
