-- Whether each guest runs, apart from its state: VERIFY_RESIZE, RESIZE and the other states in
-- passing hold for stopped guests too, and a restart after a crash must not start those.
-- Records written before this column keep the unspecified value and are recovered by state.
ALTER TABLE instance ADD COLUMN power_state VARCHAR(32) DEFAULT 'POWER_STATE_UNSPECIFIED' NOT NULL;
