-- What a server is launched with for cloud-init and its metadata (Nova keeps these on the instance):
-- the user data as the request gave it (base64, at most 65535 characters, as Nova's API takes it),
-- whether it gets a config drive, the hostname made from its name at create (Nova's
-- OS-EXT-SRV-ATTR:hostname; a later rename keeps it), its multiple-create reservation and index, and
-- the kernel and ramdisk images of its image. Portable SQL: H2 and PostgreSQL run the same.
ALTER TABLE server ADD COLUMN user_data VARCHAR(65535);
ALTER TABLE server ADD COLUMN config_drive BOOLEAN DEFAULT FALSE NOT NULL;
ALTER TABLE server ADD COLUMN hostname VARCHAR(255) DEFAULT '' NOT NULL;
ALTER TABLE server ADD COLUMN reservation_id VARCHAR(16) DEFAULT '' NOT NULL;
ALTER TABLE server ADD COLUMN launch_index INT DEFAULT 0 NOT NULL;
ALTER TABLE server ADD COLUMN kernel_id VARCHAR(64) DEFAULT '' NOT NULL;
ALTER TABLE server ADD COLUMN ramdisk_id VARCHAR(64) DEFAULT '' NOT NULL;
-- Servers made before these columns: each was its own reservation, as the create answered then.
UPDATE server SET reservation_id = 'r-' || SUBSTRING(id, 1, 8);

-- The password the guest posts to the metadata service, encrypted with the user's key (Nova keeps
-- it in system metadata, 4 × 255 characters at most); set once, until an admin clears it.
ALTER TABLE server ADD COLUMN guest_password VARCHAR(1020);
