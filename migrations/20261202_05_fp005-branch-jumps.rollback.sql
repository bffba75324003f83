-- Drop the jump pointers; the walks then step one level at a time.
-- depends: 20261202_02_fp005-chat

ALTER TABLE faceplate.messages DROP COLUMN IF EXISTS jump_id;
