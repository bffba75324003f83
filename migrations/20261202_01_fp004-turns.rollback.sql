-- Undo 20261202_01_fp004-turns.
-- depends: 20261201_02_fp003-oauth

DROP TABLE IF EXISTS faceplate.turn_watchers;
DROP TABLE IF EXISTS faceplate.turns;
