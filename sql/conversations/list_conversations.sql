-- name: list_conversations :many
-- A page of the user's conversations, most recently updated first.
-- $1 user_id :: uuid
-- $2 after_updated_at :: timestamptz  (null for the first page)
-- $3 after_id :: uuid  (null for the first page)
-- $4 limit :: int8  (one more than the page size, to learn whether a next page exists)
-- returns: id uuid, title varchar, created_at timestamptz, updated_at timestamptz
-- The row comparison matches conversations_user_updated_idx, so ties in updated_at
-- are broken by id and no row is skipped or repeated across pages.
SELECT c.id, c.title, c.created_at, c.updated_at
FROM faceplate.conversations AS c
WHERE c.user_id = $1
  AND ($2::timestamptz IS NULL OR (c.updated_at, c.id) < ($2::timestamptz, $3::uuid))
ORDER BY c.updated_at DESC, c.id DESC
LIMIT $4;
