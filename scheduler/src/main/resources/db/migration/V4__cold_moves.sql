-- The host a server was cold-moved (migrate, resize to another host) from, while the move waits
-- in VERIFY_RESIZE for confirm (the source's copy is deleted) or revert (it runs there again).
ALTER TABLE server ADD COLUMN source_host VARCHAR(255);
