-- Spawn progress (issue 21): each spawn step with when it began and ended (src/sessions/spawn_steps.ts),
-- on the session row so every replica's progress stream and the API read the same timeline. The
-- table's row-level security (0001, FORCED) covers the new column.
ALTER TABLE "agent_sessions" ADD COLUMN "spawn_steps" jsonb DEFAULT '[]'::jsonb NOT NULL;
