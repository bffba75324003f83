-- name: create_conversation :one
-- A new conversation owned by the user.
-- $1 id :: uuid
-- $2 user_id :: uuid
-- $3 title :: varchar  (may be null)
-- $4 model :: varchar  (null: the default model)
-- returns: id uuid, title varchar, model varchar, archived bool, active_message_id uuid, created_at timestamptz, updated_at timestamptz
INSERT INTO faceplate.conversations AS c (id, user_id, title, model)
VALUES ($1, $2, $3, $4)
RETURNING c.id, c.title, c.model, c.archived, c.active_message_id, c.created_at, c.updated_at;
