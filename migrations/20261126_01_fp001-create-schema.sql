-- Create the faceplate schema and its four tables: users, conversations, messages, mcp_configs.
-- depends:

CREATE SCHEMA IF NOT EXISTS faceplate;

CREATE TABLE faceplate.users (
    id          UUID         NOT NULL,
    email       VARCHAR(255) NOT NULL,
    subject_id  VARCHAR(255) NOT NULL,
    created_at  TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_subject_id_key UNIQUE (subject_id)
);
COMMENT ON TABLE faceplate.users IS 'Signed-in people, created on their first authenticated request.';
COMMENT ON COLUMN faceplate.users.subject_id IS 'The token''s sub claim (Cognito user id); the identity key.';

CREATE TABLE faceplate.conversations (
    id          UUID         NOT NULL,
    user_id     UUID         NOT NULL,
    title       VARCHAR(255),
    created_at  TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT conversations_pkey PRIMARY KEY (id),
    CONSTRAINT conversations_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES faceplate.users (id) ON DELETE CASCADE
);
COMMENT ON COLUMN faceplate.conversations.updated_at IS
    'Moves when the title changes or a message is added; the list is ordered by it.';

-- Serves list_conversations: a user's conversations, newest updated_at first, keyset on (updated_at, id).
CREATE INDEX conversations_user_updated_idx
    ON faceplate.conversations (user_id, updated_at DESC, id DESC);

CREATE TABLE faceplate.messages (
    id               UUID         NOT NULL,
    conversation_id  UUID         NOT NULL,
    role             VARCHAR(20)  NOT NULL,
    content          TEXT         NOT NULL DEFAULT '',
    tool_calls       JSONB,
    tool_results     JSONB,
    created_at       TIMESTAMPTZ  NOT NULL DEFAULT clock_timestamp(),
    finish_reason    VARCHAR(20),
    CONSTRAINT messages_pkey PRIMARY KEY (id),
    CONSTRAINT messages_conversation_id_fkey FOREIGN KEY (conversation_id)
        REFERENCES faceplate.conversations (id) ON DELETE CASCADE,
    CONSTRAINT messages_role_check CHECK (role IN ('user', 'assistant', 'system', 'tool')),
    CONSTRAINT messages_finish_reason_check CHECK (
        finish_reason IN ('stop', 'tool_calls', 'length', 'cancelled', 'error', 'interrupted')
    )
);
COMMENT ON COLUMN faceplate.messages.created_at IS
    'clock_timestamp(), not now(): messages written in one transaction still sort in write order.';
COMMENT ON COLUMN faceplate.messages.finish_reason IS
    'Assistant messages only: null while the message streams, set once it ends.';

-- Serves list_messages: one conversation's messages oldest first, keyset on (created_at, id).
CREATE INDEX messages_conversation_created_idx
    ON faceplate.messages (conversation_id, created_at, id);

-- Serves mark_streaming_interrupted: only the few assistant messages still streaming.
CREATE INDEX messages_streaming_idx
    ON faceplate.messages (created_at)
    WHERE role = 'assistant' AND finish_reason IS NULL;

CREATE TABLE faceplate.mcp_configs (
    id          UUID          NOT NULL,
    user_id     UUID          NOT NULL,
    name        VARCHAR(100)  NOT NULL,
    config      JSONB         NOT NULL,
    enabled     BOOLEAN       NOT NULL DEFAULT true,
    created_at  TIMESTAMPTZ   NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ   NOT NULL DEFAULT now(),
    CONSTRAINT mcp_configs_pkey PRIMARY KEY (id),
    CONSTRAINT mcp_configs_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES faceplate.users (id) ON DELETE CASCADE,
    -- Also serves list_mcp_configs (a user's configs by name) and list_enabled_mcp_configs.
    CONSTRAINT mcp_configs_user_name_key UNIQUE (user_id, name)
);
COMMENT ON COLUMN faceplate.mcp_configs.config IS
    'Transport settings; header and env values are Fernet-encrypted with FACEPLATE_SECRET_KEY.';
