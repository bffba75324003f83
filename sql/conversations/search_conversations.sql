-- name: search_conversations :many
-- A page of the user's conversations (archived or not) whose title or any message matches a
-- websearch_to_tsquery query, most recently updated first, each with a snippet of its first match.
-- $1 user_id :: uuid
-- $2 query :: text  (websearch_to_tsquery syntax: words, "a phrase", -word, or)
-- $3 archived :: bool
-- $4 after_updated_at :: timestamptz  (null for the first page)
-- $5 after_id :: uuid  (null for the first page)
-- $6 limit :: int8  (one more than the page size, to learn whether a next page exists)
-- returns: id uuid, title varchar, model varchar, archived bool, active_message_id uuid, created_at timestamptz, updated_at timestamptz, snippet text
-- The 'simple' configuration: words as written (lower-cased), in any language. Messages are
-- found through messages_search_idx (its predicate is repeated here so that it applies); the
-- first match of a conversation is its oldest matching message, unless its title matches.
-- The query is spelt out where it is used, not taken from a CTE, so that the planner sees it
-- as the index condition of messages_search_idx.
WITH first_hit AS (
    SELECT DISTINCT ON (m.conversation_id) m.conversation_id, m.content
    FROM faceplate.messages AS m
    JOIN faceplate.conversations AS owner ON owner.id = m.conversation_id
    WHERE owner.user_id = $1
      AND owner.archived = $3
      AND to_tsvector('simple', m.content) @@ websearch_to_tsquery('simple', $2::text)
      AND (m.role <> 'assistant' OR m.finish_reason IS NOT NULL)
    ORDER BY m.conversation_id, m.created_at, m.id
)
SELECT c.id, c.title, c.model, c.archived, c.active_message_id, c.created_at, c.updated_at,
       ts_headline(
           'simple',
           CASE WHEN to_tsvector('simple', COALESCE(c.title, ''))
                     @@ websearch_to_tsquery('simple', $2::text)
                THEN c.title ELSE h.content END,
           websearch_to_tsquery('simple', $2::text),
           'MaxFragments=1, MaxWords=24, MinWords=8, FragmentDelimiter=" … ", StartSel="", StopSel=""'
       ) AS snippet
FROM faceplate.conversations AS c
LEFT JOIN first_hit AS h ON h.conversation_id = c.id
WHERE c.user_id = $1
  AND c.archived = $3
  AND (
      h.conversation_id IS NOT NULL
      OR to_tsvector('simple', COALESCE(c.title, '')) @@ websearch_to_tsquery('simple', $2::text)
  )
  AND (c.updated_at, c.id) < (
      COALESCE($4::timestamptz, 'infinity'),
      COALESCE($5::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')
  )
ORDER BY c.updated_at DESC, c.id DESC
LIMIT $6;
