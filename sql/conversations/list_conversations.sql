-- name: list_conversations :many
-- A page of the user's conversations, archived or not, most recently updated first.
-- $1 user_id :: uuid
-- $2 archived :: bool  (true lists the archived ones, false the others)
-- $3 after_updated_at :: timestamptz  (null for the first page)
-- $4 after_id :: uuid  (null for the first page)
-- $5 limit :: int8  (one more than the page size, to learn whether a next page exists)
-- returns: id uuid, title varchar, model varchar, archived bool, active_message_id uuid, created_at timestamptz, updated_at timestamptz
-- The row comparison matches conversations_user_archived_updated_idx, so ties in updated_at
-- are broken by id and no row is skipped or repeated across pages. The first page compares
-- with a sentinel above every row rather than "$3 IS NULL OR …", so that a generic plan
-- still seeks the index instead of filtering every row before the cursor.
SELECT c.id, c.title, c.model, c.archived, c.active_message_id, c.created_at, c.updated_at
FROM faceplate.conversations AS c
WHERE c.user_id = $1
  AND c.archived = $2
  AND (c.updated_at, c.id) < (
      COALESCE($3::timestamptz, 'infinity'),
      COALESCE($4::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')
  )
ORDER BY c.updated_at DESC, c.id DESC
LIMIT $5;
