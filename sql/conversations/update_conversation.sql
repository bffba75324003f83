-- name: update_conversation :one
-- Change any of the title, the model and the archived flag of the user's conversation; none
-- if it is not theirs. updated_at moves with the title only (archiving is not an update).
-- $1 user_id :: uuid
-- $2 conversation_id :: uuid
-- $3 set_title :: bool  (false keeps the title)
-- $4 title :: varchar  (may be null)
-- $5 set_model :: bool  (false keeps the model)
-- $6 model :: varchar  (null: the default model)
-- $7 archived :: bool  (null keeps the flag)
-- returns: id uuid, title varchar, model varchar, archived bool, active_message_id uuid, created_at timestamptz, updated_at timestamptz
UPDATE faceplate.conversations AS c
SET title = CASE WHEN $3 THEN $4::varchar ELSE c.title END,
    updated_at = CASE WHEN $3 THEN now() ELSE c.updated_at END,
    model = CASE WHEN $5 THEN $6::varchar ELSE c.model END,
    archived = COALESCE($7::bool, c.archived)
WHERE c.id = $2
  AND c.user_id = $1
RETURNING c.id, c.title, c.model, c.archived, c.active_message_id, c.created_at, c.updated_at;
