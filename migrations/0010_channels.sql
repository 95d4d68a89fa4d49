-- Channels (issue 19): a container whose channel polls (Telegram without a public URL) is not
-- idle-frozen. The mark names the container that reported it, so it lapses on respawn. No channel
-- credential or setting is stored here: they live only in the container.
ALTER TABLE "agent_sessions" ADD COLUMN "polling_container_id" text;
