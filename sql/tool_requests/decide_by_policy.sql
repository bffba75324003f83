-- name: decide_by_policy :many
-- Decide every pending approval of one config's tool by its policy just remembered.
-- $1 user_id :: uuid
-- $2 config_id :: uuid
-- $3 tool :: text
-- $4 decision :: varchar  (allow | deny)
-- returns: id uuid
UPDATE faceplate.tool_requests AS tr
SET decision = $4, decided_by = 'policy', decided_at = now()
WHERE tr.config_id = $2
  AND tr.tool = $3
  AND tr.decided_at IS NULL
  AND tr.kind = 'approval'
  AND tr.user_id = $1
RETURNING tr.id;
