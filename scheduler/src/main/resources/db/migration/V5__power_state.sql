-- Whether the server's guest runs, as its agent last reported it (Nova's power_state): a resize
-- or a move holds for stopped servers too. NULL until an agent that reports it sends an event;
-- the API then derives it from vm_state, as before.
ALTER TABLE server ADD COLUMN power_state VARCHAR(32);
