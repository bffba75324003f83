-- name: list_conversations :many
-- A page of the user's conversations, most recently updated first.
-- $1 user_id :: uuid
-- $2 after_updated_at :: timestamptz  (null for the first page)
-- $3 after_id :: uuid  (null for the first page)
-- $4 limit :: int8  (one more than the page size, to learn whether a next page exists)
-- returns: id uuid, title varchar, created_at timestamptz, updated_at timestamptz
-- The row comparison matches conversations_user_updated_idx, so ties in updated_at
-- are broken by id and no row is skipped or repeated across pages. The first page compares
-- with a sentinel above every row rather than "$2 IS NULL OR …", so that a generic plan
-- still seeks the index instead of filtering every row before the cursor.
SELECT c.id, c.title, c.created_at, c.updated_at
FROM faceplate.conversations AS c
WHERE c.user_id = $1
  AND (c.updated_at, c.id) < (
      COALESCE($2::timestamptz, 'infinity'),
      COALESCE($3::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')
  )
ORDER BY c.updated_at DESC, c.id DESC
LIMIT $4;
