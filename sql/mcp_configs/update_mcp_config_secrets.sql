-- name: update_mcp_config_secrets :execrows
-- Store a config's secrets encrypted anew, unless the config changed since it was read.
-- $1 config_id :: uuid
-- $2 read_config :: jsonb  (the config as it was read)
-- $3 config :: jsonb
-- returns: the number of rows updated (0 when the config changed meanwhile, or went)
-- updated_at stays: what the config says is unchanged, only how its secrets are sealed.
UPDATE faceplate.mcp_configs AS mc
SET config = $3
WHERE mc.id = $1
  AND mc.config = $2;
