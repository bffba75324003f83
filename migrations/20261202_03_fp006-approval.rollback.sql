-- Drop what the approval migration made.
-- depends: 20261201_02_fp003-oauth

DROP TABLE IF EXISTS faceplate.tool_requests;
ALTER TABLE faceplate.mcp_configs
    DROP CONSTRAINT IF EXISTS mcp_configs_tool_policies_check,
    DROP CONSTRAINT IF EXISTS mcp_configs_tool_approval_check,
    DROP COLUMN IF EXISTS tool_policies,
    DROP COLUMN IF EXISTS tool_approval;
