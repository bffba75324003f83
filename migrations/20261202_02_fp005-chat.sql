-- Chat features: messages form a tree (branches), a model per conversation and per answer,
-- the tokens each answer cost and per-user daily sums, archive, and full-text search.
-- depends: 20261201_02_fp003-oauth

ALTER TABLE faceplate.messages
    ADD COLUMN parent_id  UUID,
    ADD COLUMN depth      INTEGER      NOT NULL DEFAULT 0,
    ADD COLUMN model      VARCHAR(255),
    ADD COLUMN usage      JSONB;
COMMENT ON COLUMN faceplate.messages.parent_id IS
    'The message before this one on its branch; null for a root. Siblings share a parent.';
COMMENT ON COLUMN faceplate.messages.depth IS
    'How many messages come before this one on its branch (a root is 0): its position, root first, '
    'on every branch through it. It bounds the walks up from a leaf and keys their pages.';
COMMENT ON COLUMN faceplate.messages.model IS 'Assistant messages: the model that wrote it.';
COMMENT ON COLUMN faceplate.messages.usage IS
    'Assistant messages: {"input_tokens", "output_tokens"} as the provider reported them, or null.';

-- The conversations written before branches are each one straight chain, in write order.
UPDATE faceplate.messages AS m
SET parent_id = chain.previous_id, depth = chain.position
FROM (
    SELECT x.id,
           lag(x.id) OVER w AS previous_id,
           (row_number() OVER w - 1)::integer AS position
    FROM faceplate.messages AS x
    WINDOW w AS (PARTITION BY x.conversation_id ORDER BY x.created_at, x.id)
) AS chain
WHERE chain.id = m.id;

ALTER TABLE faceplate.messages
    ADD CONSTRAINT messages_parent_id_fkey FOREIGN KEY (parent_id)
        REFERENCES faceplate.messages (id) ON DELETE CASCADE,
    ADD CONSTRAINT messages_depth_check CHECK ((parent_id IS NULL) = (depth = 0) AND depth >= 0);

-- Serves the sibling lists (a parent's children, oldest first; the roots when parent_id is null)
-- and the walk down a subtree to its newest leaf.
CREATE INDEX messages_conversation_parent_idx
    ON faceplate.messages (conversation_id, parent_id, created_at, id);

-- Serves search: the words of every message except those still streaming, whose text changes
-- every second (keeping them out spares the index those writes). 'simple': no stemming and no
-- stop words, so every language matches word for word.
CREATE INDEX messages_search_idx
    ON faceplate.messages USING gin (to_tsvector('simple', content))
    WHERE role <> 'assistant' OR finish_reason IS NOT NULL;

ALTER TABLE faceplate.conversations
    ADD COLUMN active_message_id  UUID,
    ADD COLUMN model              VARCHAR(255),
    ADD COLUMN archived           BOOLEAN  NOT NULL DEFAULT false;
COMMENT ON COLUMN faceplate.conversations.active_message_id IS
    'The leaf of the branch being continued: the next message hangs under it. Null before the first.';
COMMENT ON COLUMN faceplate.conversations.model IS
    'One of FACEPLATE_LLM_MODELS, or null for the default (the first).';

UPDATE faceplate.conversations AS c
SET active_message_id = (
    SELECT m.id
    FROM faceplate.messages AS m
    WHERE m.conversation_id = c.id
    ORDER BY m.created_at DESC, m.id DESC
    LIMIT 1
);

ALTER TABLE faceplate.conversations
    ADD CONSTRAINT conversations_active_message_id_fkey FOREIGN KEY (active_message_id)
        REFERENCES faceplate.messages (id) ON DELETE SET NULL;

-- The list now shows either the archived conversations or the others: the flag joins the key.
DROP INDEX faceplate.conversations_user_updated_idx;
CREATE INDEX conversations_user_archived_updated_idx
    ON faceplate.conversations (user_id, archived, updated_at DESC, id DESC);


CREATE TABLE faceplate.token_usage (
    user_id        UUID          NOT NULL,
    day            DATE          NOT NULL,
    model          VARCHAR(255)  NOT NULL,
    input_tokens   BIGINT        NOT NULL DEFAULT 0,
    output_tokens  BIGINT        NOT NULL DEFAULT 0,
    CONSTRAINT token_usage_pkey PRIMARY KEY (user_id, day, model),
    CONSTRAINT token_usage_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES faceplate.users (id) ON DELETE CASCADE
);
COMMENT ON TABLE faceplate.token_usage IS
    'Model tokens per user, UTC day and model, added as each answer ends. Kept apart from the '
    'messages so that deleting a conversation does not give its tokens back to the daily limit.';
