-- Turns owned by an instance under a lease, and which instances watch which conversations.
-- depends: 20261201_02_fp003-oauth

CREATE TABLE faceplate.turns (
    id                UUID         NOT NULL,
    conversation_id   UUID         NOT NULL,
    user_id           UUID         NOT NULL,
    instance_id       VARCHAR(64)  NOT NULL,
    epoch             INTEGER      NOT NULL DEFAULT 1,
    status            VARCHAR(20)  NOT NULL DEFAULT 'running',
    started_at        TIMESTAMPTZ  NOT NULL DEFAULT now(),
    ended_at          TIMESTAMPTZ,
    lease_expires_at  TIMESTAMPTZ  NOT NULL,
    CONSTRAINT turns_pkey PRIMARY KEY (id),
    CONSTRAINT turns_conversation_id_fkey FOREIGN KEY (conversation_id)
        REFERENCES faceplate.conversations (id) ON DELETE CASCADE,
    CONSTRAINT turns_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES faceplate.users (id) ON DELETE CASCADE,
    CONSTRAINT turns_status_check CHECK (
        status IN ('running', 'completed', 'cancelled', 'failed', 'interrupted')
    ),
    CONSTRAINT turns_ended_check CHECK ((status = 'running') = (ended_at IS NULL))
);
COMMENT ON TABLE faceplate.turns IS
    'One row per turn. A running turn belongs to instance_id while its lease lasts; the owner '
    'renews every lease it holds in one statement, and any instance takes over one that expired.';
COMMENT ON COLUMN faceplate.turns.epoch IS
    'Raised by every takeover. Each write of a turn names (id, epoch) and checks it in the same '
    'statement, so an owner that lost its lease can no longer change the conversation.';
COMMENT ON COLUMN faceplate.turns.lease_expires_at IS
    'Database time (now()) based, so instance clocks do not matter.';

-- One running turn per conversation, across every instance.
CREATE UNIQUE INDEX turns_one_running_idx
    ON faceplate.turns (conversation_id) WHERE status = 'running';
-- The sweeper: running turns whose lease ran out.
CREATE INDEX turns_lease_idx
    ON faceplate.turns (lease_expires_at) WHERE status = 'running';
-- The heartbeat: every running turn of one instance.
CREATE INDEX turns_instance_running_idx
    ON faceplate.turns (instance_id) WHERE status = 'running';
-- The per-user limits: turns running now, and turns started in the last minute.
CREATE INDEX turns_user_running_idx
    ON faceplate.turns (user_id) WHERE status = 'running';
CREATE INDEX turns_user_started_idx
    ON faceplate.turns (user_id, started_at);

CREATE TABLE faceplate.turn_watchers (
    conversation_id  UUID         NOT NULL,
    instance_id      VARCHAR(64)  NOT NULL,
    expires_at       TIMESTAMPTZ  NOT NULL,
    CONSTRAINT turn_watchers_pkey PRIMARY KEY (conversation_id, instance_id),
    CONSTRAINT turn_watchers_conversation_id_fkey FOREIGN KEY (conversation_id)
        REFERENCES faceplate.conversations (id) ON DELETE CASCADE
);
COMMENT ON TABLE faceplate.turn_watchers IS
    'Instances with a socket open on a conversation: where its turn''s frames must be sent. '
    'Renewed by each instance''s heartbeat; a row past expires_at is a dead instance''s.';

CREATE INDEX turn_watchers_instance_idx ON faceplate.turn_watchers (instance_id);
CREATE INDEX turn_watchers_expires_idx ON faceplate.turn_watchers (expires_at);
