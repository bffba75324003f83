-- Jump pointers up a branch: a page deep in a long branch is reached in depth / 64 jumps.
-- depends: 20261202_02_fp005-chat

ALTER TABLE faceplate.messages ADD COLUMN jump_id UUID;
COMMENT ON COLUMN faceplate.messages.jump_id IS
    'The nearest ancestor whose depth is a multiple of 64 (null for a root, or when unknown: then '
    'the parent serves). A page deep in a branch is reached in depth / 64 jumps, not depth steps.';

-- Fills what the walk up from each message finds: its ancestor at the multiple of 64 below it.
WITH RECURSIVE up (id, ancestor_id, ancestor_depth, target) AS (
    SELECT m.id, m.parent_id, m.depth - 1, ((m.depth - 1) / 64) * 64
    FROM faceplate.messages AS m
    WHERE m.depth > 0
  UNION ALL
    SELECT u.id, p.parent_id, p.depth - 1, u.target
    FROM up AS u
    JOIN faceplate.messages AS p ON p.id = u.ancestor_id
    WHERE u.ancestor_depth > u.target
)
UPDATE faceplate.messages AS m
SET jump_id = u.ancestor_id
FROM up AS u
WHERE u.id = m.id
  AND u.ancestor_depth = u.target;
