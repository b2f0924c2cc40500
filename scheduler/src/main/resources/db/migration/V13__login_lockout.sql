-- Failed logins in a row and the time of the last one, for Keystone's lockout
-- (lockout_failure_attempts, lockout_duration: failed_auth_count and failed_auth_at there).
ALTER TABLE account ADD COLUMN failed_logins INT DEFAULT 0 NOT NULL;
ALTER TABLE account ADD COLUMN last_failed_login TIMESTAMP;
