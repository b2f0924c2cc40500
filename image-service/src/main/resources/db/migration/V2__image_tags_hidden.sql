-- Glance's tags (a JSON array of strings: at most 128, each at most 255 characters) and
-- os_hidden (hidden from default listings). The properties column is widened: 128 properties of
-- 255-character keys and values did not fit in 32768 characters. Portable SQL (H2, PostgreSQL).
ALTER TABLE image ADD COLUMN tags VARCHAR(1000000) DEFAULT '[]' NOT NULL;
ALTER TABLE image ADD COLUMN os_hidden BOOLEAN DEFAULT FALSE NOT NULL;
ALTER TABLE image ALTER COLUMN properties SET DATA TYPE VARCHAR(1000000);
