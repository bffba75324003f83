-- Tool approval: each MCP config's policies, and the requests a turn waits on (approvals of tool
-- calls, and MCP servers' questions to the user) with how each was decided.
-- depends: 20261201_02_fp003-oauth

ALTER TABLE faceplate.mcp_configs
    ADD COLUMN tool_approval VARCHAR(10) NOT NULL DEFAULT 'never',
    ADD COLUMN tool_policies JSONB NOT NULL DEFAULT '{}'::jsonb,
    ADD CONSTRAINT mcp_configs_tool_approval_check
        CHECK (tool_approval IN ('never', 'writes', 'always')),
    ADD CONSTRAINT mcp_configs_tool_policies_check CHECK (jsonb_typeof(tool_policies) = 'object');
COMMENT ON COLUMN faceplate.mcp_configs.tool_approval IS
    'never: run every call; writes: ask before a tool not annotated readOnlyHint true; always: ask.';
COMMENT ON COLUMN faceplate.mcp_configs.tool_policies IS
    'Server tool name -> allow | ask | deny; wins over tool_approval. A denied tool is not offered.';

CREATE TABLE faceplate.tool_requests (
    id               UUID         NOT NULL,
    user_id          UUID         NOT NULL,
    conversation_id  UUID         NOT NULL,
    turn_id          UUID         NOT NULL,
    kind             VARCHAR(12)  NOT NULL,
    tool_call_id     TEXT         NOT NULL,
    config_id        UUID,
    tool             TEXT,
    frame            JSONB        NOT NULL,
    expires_at       TIMESTAMPTZ  NOT NULL,
    decision         VARCHAR(10),
    decided_by       VARCHAR(10),
    content          JSONB,
    remember         BOOLEAN      NOT NULL DEFAULT false,
    created_at       TIMESTAMPTZ  NOT NULL DEFAULT now(),
    decided_at       TIMESTAMPTZ,
    CONSTRAINT tool_requests_pkey PRIMARY KEY (id),
    CONSTRAINT tool_requests_conversation_id_fkey FOREIGN KEY (conversation_id)
        REFERENCES faceplate.conversations (id) ON DELETE CASCADE,
    CONSTRAINT tool_requests_kind_check CHECK (kind IN ('approval', 'elicitation')),
    CONSTRAINT tool_requests_decision_check CHECK (
        (kind = 'approval' AND decision IN ('allow', 'deny'))
        OR (kind = 'elicitation' AND decision IN ('accept', 'decline', 'cancel'))
        OR decision IS NULL
    ),
    CONSTRAINT tool_requests_decided_by_check CHECK (
        decided_by IN ('user', 'policy', 'timeout', 'cancel')
    ),
    CONSTRAINT tool_requests_decided_check CHECK (
        (decision IS NULL) = (decided_by IS NULL) AND (decision IS NULL) = (decided_at IS NULL)
    )
);
COMMENT ON TABLE faceplate.tool_requests IS
    'What a turn asked the user: an approval of a tool call, or an MCP server''s question '
    '(elicitation). Pending while decided_at is null; the first UPDATE that decides it wins, '
    'whichever instance runs it, and the waiting turn reads the decision back.';
COMMENT ON COLUMN faceplate.tool_requests.user_id IS
    'The conversation''s owner, so an answer is matched to its user without a join.';
COMMENT ON COLUMN faceplate.tool_requests.turn_id IS
    'The turn that waits; only its open requests are shown to a socket that joins.';
COMMENT ON COLUMN faceplate.tool_requests.tool_call_id IS
    'The model''s id of the call (an approval), or of the call during which the server asked.';
COMMENT ON COLUMN faceplate.tool_requests.config_id IS
    'The MCP config of the tool (no foreign key: the record outlives a deleted config).';
COMMENT ON COLUMN faceplate.tool_requests.tool IS 'The server''s own name of the tool.';
COMMENT ON COLUMN faceplate.tool_requests.frame IS
    'The approval_request or elicitation_request frame as sent, for sockets that join later.';
COMMENT ON COLUMN faceplate.tool_requests.content IS 'An accepted elicitation''s answer.';
COMMENT ON COLUMN faceplate.tool_requests.remember IS
    'The user asked to keep the decision as the tool''s policy.';

-- Serves decide_approval (an answer names the call) and the one approval per call of a turn.
CREATE UNIQUE INDEX tool_requests_call_idx
    ON faceplate.tool_requests (conversation_id, tool_call_id, turn_id)
    WHERE kind = 'approval';
-- Serves decide_by_policy: the open approvals of one config's tool.
CREATE INDEX tool_requests_open_tool_idx
    ON faceplate.tool_requests (config_id, tool)
    WHERE decided_at IS NULL;
