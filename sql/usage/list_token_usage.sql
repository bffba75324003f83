-- name: list_token_usage :many
-- The user's tokens per UTC day and model, from one day to another (both included), by day.
-- $1 user_id :: uuid
-- $2 from_day :: date
-- $3 to_day :: date
-- returns: date date, model varchar, input_tokens int8, output_tokens int8
-- Walks token_usage_pkey (user_id, day, model).
SELECT u.day AS date, u.model, u.input_tokens, u.output_tokens
FROM faceplate.token_usage AS u
WHERE u.user_id = $1
  AND u.day BETWEEN $2 AND $3
ORDER BY u.day, u.model;
