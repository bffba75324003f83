-- name: get_tool_request_decision :one
-- How a request was decided, if it was; none when the request is gone (its conversation was
-- deleted).
-- $1 id :: uuid
-- returns: decision varchar, decided_by varchar, content jsonb
SELECT tr.decision, tr.decided_by, tr.content
FROM faceplate.tool_requests AS tr
WHERE tr.id = $1;
