-- OAuth for MCP servers: registered clients, each config's grant, and pending authorizations.
-- depends: 20261126_01_fp001-create-schema

CREATE TABLE faceplate.oauth_clients (
    issuer             TEXT         NOT NULL,
    redirect_uri       TEXT         NOT NULL,
    client_id          TEXT         NOT NULL,
    client_secret      TEXT,
    auth_method        VARCHAR(32)  NOT NULL,
    secret_expires_at  TIMESTAMPTZ,
    created_at         TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT oauth_clients_pkey PRIMARY KEY (issuer, redirect_uri),
    CONSTRAINT oauth_clients_auth_method_check CHECK (
        auth_method IN ('none', 'client_secret_basic', 'client_secret_post')
    )
);
COMMENT ON TABLE faceplate.oauth_clients IS
    'Clients registered dynamically (RFC 7591), once per authorization server and redirect URI, '
    'shared by every user and config.';
COMMENT ON COLUMN faceplate.oauth_clients.client_secret IS 'Fernet-encrypted with FACEPLATE_SECRET_KEY.';
COMMENT ON COLUMN faceplate.oauth_clients.secret_expires_at IS
    'When the server said the secret expires (null: never); an expired client is registered again.';

CREATE TABLE faceplate.mcp_oauth (
    config_id      UUID         NOT NULL,
    status         VARCHAR(32)  NOT NULL,
    server         JSONB,
    scopes         TEXT[]       NOT NULL DEFAULT '{}',
    client_id      TEXT,
    client_secret  TEXT,
    client_auth    VARCHAR(32),
    access_token   TEXT,
    refresh_token  TEXT,
    issued_at      TIMESTAMPTZ,
    expires_at     TIMESTAMPTZ,
    updated_at     TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT mcp_oauth_pkey PRIMARY KEY (config_id),
    CONSTRAINT mcp_oauth_config_id_fkey FOREIGN KEY (config_id)
        REFERENCES faceplate.mcp_configs (id) ON DELETE CASCADE,
    CONSTRAINT mcp_oauth_status_check CHECK (status IN ('connected', 'needs_authorization')),
    CONSTRAINT mcp_oauth_client_auth_check CHECK (
        client_auth IN ('none', 'client_secret_basic', 'client_secret_post')
    ),
    CONSTRAINT mcp_oauth_connected_check CHECK (status <> 'connected' OR access_token IS NOT NULL)
);
COMMENT ON TABLE faceplate.mcp_oauth IS
    'One row per MCP config whose server asked for OAuth: its status and, once connected, its '
    'tokens. A refresh locks the row (SELECT ... FOR UPDATE), so one runs at a time across '
    'every instance and the rotated refresh token is committed before anyone reads it again.';
COMMENT ON COLUMN faceplate.mcp_oauth.server IS
    'The discovered authorization server: issuer, endpoints, the resource (RFC 8707) and scopes.';
COMMENT ON COLUMN faceplate.mcp_oauth.client_secret IS 'Fernet-encrypted with FACEPLATE_SECRET_KEY.';
COMMENT ON COLUMN faceplate.mcp_oauth.access_token IS 'Fernet-encrypted with FACEPLATE_SECRET_KEY.';
COMMENT ON COLUMN faceplate.mcp_oauth.refresh_token IS 'Fernet-encrypted with FACEPLATE_SECRET_KEY.';
COMMENT ON COLUMN faceplate.mcp_oauth.issued_at IS
    'When the access token was issued; with expires_at it says how early to refresh.';

CREATE TABLE faceplate.oauth_states (
    state_hash     BYTEA        NOT NULL,
    user_id        UUID         NOT NULL,
    config_id      UUID         NOT NULL,
    code_verifier  TEXT         NOT NULL,
    redirect_uri   TEXT         NOT NULL,
    server         JSONB        NOT NULL,
    scopes         TEXT[]       NOT NULL,
    client_id      TEXT         NOT NULL,
    client_secret  TEXT,
    client_auth    VARCHAR(32)  NOT NULL,
    expires_at     TIMESTAMPTZ  NOT NULL,
    created_at     TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT oauth_states_pkey PRIMARY KEY (state_hash),
    CONSTRAINT oauth_states_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES faceplate.users (id) ON DELETE CASCADE,
    CONSTRAINT oauth_states_config_id_fkey FOREIGN KEY (config_id)
        REFERENCES faceplate.mcp_configs (id) ON DELETE CASCADE,
    CONSTRAINT oauth_states_client_auth_check CHECK (
        client_auth IN ('none', 'client_secret_basic', 'client_secret_post')
    )
);
COMMENT ON TABLE faceplate.oauth_states IS
    'Authorizations started and not yet completed: single use (the callback deletes the row), '
    'valid until expires_at, bound to the user and config.';
COMMENT ON COLUMN faceplate.oauth_states.state_hash IS
    'SHA-256 of the state sent to the browser; the state itself is never stored.';
COMMENT ON COLUMN faceplate.oauth_states.code_verifier IS
    'The PKCE verifier, Fernet-encrypted with FACEPLATE_SECRET_KEY.';

-- Serves the clean-up of expired states done by create_oauth_state.
CREATE INDEX oauth_states_expires_idx ON faceplate.oauth_states (expires_at);
-- Serves the ON DELETE CASCADE from mcp_configs and forgetting a config's pending states.
CREATE INDEX oauth_states_config_idx ON faceplate.oauth_states (config_id);
-- Serves the ON DELETE CASCADE from users.
CREATE INDEX oauth_states_user_idx ON faceplate.oauth_states (user_id);
