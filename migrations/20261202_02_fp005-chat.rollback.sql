-- Undo the chat features. Every message stays; the branches are flattened into the
-- conversation's messages in write order, as the schema before them reads them.
-- depends: 20261201_02_fp003-oauth

DROP TABLE IF EXISTS faceplate.token_usage;

DROP INDEX IF EXISTS faceplate.conversations_user_archived_updated_idx;
CREATE INDEX IF NOT EXISTS conversations_user_updated_idx
    ON faceplate.conversations (user_id, updated_at DESC, id DESC);
ALTER TABLE faceplate.conversations
    DROP COLUMN IF EXISTS active_message_id,
    DROP COLUMN IF EXISTS model,
    DROP COLUMN IF EXISTS archived;

DROP INDEX IF EXISTS faceplate.messages_search_idx;
DROP INDEX IF EXISTS faceplate.messages_conversation_parent_idx;
ALTER TABLE faceplate.messages
    DROP COLUMN IF EXISTS parent_id,
    DROP COLUMN IF EXISTS depth,
    DROP COLUMN IF EXISTS model,
    DROP COLUMN IF EXISTS usage;
