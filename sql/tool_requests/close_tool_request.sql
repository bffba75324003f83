-- name: close_tool_request :execrows
-- The waiting turn ends a request no one answered: by timeout, or because the turn stopped.
-- $1 id :: uuid
-- $2 decision :: varchar  (deny for an approval, cancel for an elicitation)
-- $3 decided_by :: varchar  (timeout | cancel)
-- returns: the number of rows updated (0 when it was decided meanwhile)
UPDATE faceplate.tool_requests AS tr
SET decision = $2, decided_by = $3, decided_at = now()
WHERE tr.id = $1
  AND tr.decided_at IS NULL;
