-- name: add_token_usage :exec
-- Add an answer's tokens to the user's sum for the current UTC day and the model.
-- $1 user_id :: uuid
-- $2 model :: varchar
-- $3 input_tokens :: int8
-- $4 output_tokens :: int8
-- returns: nothing
-- The day is the database's, so every instance counts the same day whatever its clock.
INSERT INTO faceplate.token_usage AS u (user_id, day, model, input_tokens, output_tokens)
VALUES ($1, (now() AT TIME ZONE 'UTC')::date, $2, $3, $4)
ON CONFLICT ON CONSTRAINT token_usage_pkey DO UPDATE
SET input_tokens = u.input_tokens + EXCLUDED.input_tokens,
    output_tokens = u.output_tokens + EXCLUDED.output_tokens;
