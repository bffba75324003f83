-- name: list_applied_migrations :many
-- The ids of the migrations yoyo has applied; readiness compares them with migrations/.
-- returns: migration_id varchar
SELECT ym.migration_id
FROM public._yoyo_migration AS ym;
