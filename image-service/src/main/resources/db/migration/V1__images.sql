-- Image records; the data lives in the blob store under its sha256. Portable SQL (H2, PostgreSQL).
CREATE TABLE image (
    id               VARCHAR(64)    PRIMARY KEY,
    name             VARCHAR(255)   NOT NULL,
    owner            VARCHAR(64)    NOT NULL,
    visibility       VARCHAR(16)    NOT NULL,
    status           VARCHAR(16)    NOT NULL,
    disk_format      VARCHAR(16)    NOT NULL,
    container_format VARCHAR(16)    NOT NULL,
    size_bytes       BIGINT,
    sha256           VARCHAR(64),
    min_ram_mib      BIGINT         NOT NULL,
    min_disk_gib     BIGINT         NOT NULL,
    protected        BOOLEAN        NOT NULL,
    -- kernel_id, ramdisk_id, os_command_line, architecture, ... as a JSON object of strings.
    properties       VARCHAR(32768) NOT NULL,
    created_at       TIMESTAMP      NOT NULL,
    updated_at       TIMESTAMP      NOT NULL
);
CREATE INDEX image_by_owner ON image (owner);
CREATE INDEX image_by_sha256 ON image (sha256);
