-- Cinder's model: volume types (one __DEFAULT__ made here), volumes with their metadata and the
-- image properties they were made from, snapshots with their metadata, attachments (one row per
-- server a volume is attached to, with the NBD export that serves it) and per-project quotas.
CREATE TABLE volume_type (
    id          VARCHAR(64)  PRIMARY KEY,
    name        VARCHAR(255) NOT NULL UNIQUE,
    description VARCHAR(255),
    is_public   BOOLEAN      NOT NULL,
    -- Cinder's extra spec "multiattach": "<is> True" lets a volume of this type serve several servers.
    multiattach BOOLEAN      NOT NULL,
    created_at  TIMESTAMP    NOT NULL
);

INSERT INTO volume_type (id, name, description, is_public, multiattach, created_at)
VALUES ('5a3b4c1e-0d6f-4f7e-9a52-6c1f2e3d4b5a', '__DEFAULT__', 'Default Volume Type', TRUE, FALSE,
        CURRENT_TIMESTAMP);

CREATE TABLE volume (
    id                VARCHAR(64)   PRIMARY KEY,
    project_id        VARCHAR(64)   NOT NULL,
    user_id           VARCHAR(64)   NOT NULL,
    name              VARCHAR(255),
    description       VARCHAR(255),
    size_gb           INTEGER       NOT NULL,
    status            VARCHAR(32)   NOT NULL,
    availability_zone VARCHAR(255)  NOT NULL,
    type_id           VARCHAR(64)   NOT NULL REFERENCES volume_type (id),
    bootable          BOOLEAN       NOT NULL,
    -- Cinder's admin metadata "readonly": NULL until it is set, then shown in the volume's metadata.
    read_only         BOOLEAN,
    multiattach       BOOLEAN       NOT NULL,
    source_volid      VARCHAR(64),
    snapshot_id       VARCHAR(64),
    image_id          VARCHAR(64),
    -- Why the last operation on the volume failed (status error, error_extending...), or NULL.
    fault             VARCHAR(1024),
    created_at        TIMESTAMP     NOT NULL,
    updated_at        TIMESTAMP     NOT NULL
);
CREATE INDEX volume_project ON volume (project_id);

CREATE TABLE volume_metadata (
    volume_id  VARCHAR(64)  NOT NULL,
    meta_key   VARCHAR(255) NOT NULL,
    meta_value VARCHAR(255) NOT NULL,
    PRIMARY KEY (volume_id, meta_key)
);

-- The image's properties a volume was made from (Cinder's volume_glance_metadata).
CREATE TABLE volume_image_metadata (
    volume_id  VARCHAR(64)  NOT NULL,
    meta_key   VARCHAR(255) NOT NULL,
    meta_value VARCHAR(4096) NOT NULL,
    PRIMARY KEY (volume_id, meta_key)
);

CREATE TABLE volume_snapshot (
    id          VARCHAR(64)  PRIMARY KEY,
    project_id  VARCHAR(64)  NOT NULL,
    user_id     VARCHAR(64)  NOT NULL,
    volume_id   VARCHAR(64)  NOT NULL,
    name        VARCHAR(255),
    description VARCHAR(255),
    size_gb     INTEGER      NOT NULL,
    status      VARCHAR(32)  NOT NULL,
    fault       VARCHAR(1024),
    created_at  TIMESTAMP    NOT NULL,
    updated_at  TIMESTAMP    NOT NULL
);
CREATE INDEX volume_snapshot_volume ON volume_snapshot (volume_id);

CREATE TABLE snapshot_metadata (
    snapshot_id VARCHAR(64)  NOT NULL,
    meta_key    VARCHAR(255) NOT NULL,
    meta_value  VARCHAR(255) NOT NULL,
    PRIMARY KEY (snapshot_id, meta_key)
);

-- A volume on a server (Cinder's attachment, Nova's BDM in one row). nbd_port is kept so that an
-- export restarted by the supervisor or after a control-plane restart serves on the same address.
CREATE TABLE volume_attachment (
    id                    VARCHAR(64)  PRIMARY KEY,
    volume_id             VARCHAR(64)  NOT NULL,
    server_id             VARCHAR(64)  NOT NULL,
    host                  VARCHAR(255),
    device                VARCHAR(64),
    mode                  VARCHAR(8)   NOT NULL,
    status                VARCHAR(32)  NOT NULL,
    boot                  BOOLEAN      NOT NULL,
    delete_on_termination BOOLEAN      NOT NULL,
    nbd_port              INTEGER      UNIQUE,
    attached_at           TIMESTAMP,
    created_at            TIMESTAMP    NOT NULL,
    UNIQUE (volume_id, server_id)
);
CREATE INDEX volume_attachment_server ON volume_attachment (server_id);

CREATE TABLE volume_quota (
    project_id  VARCHAR(64) NOT NULL,
    resource    VARCHAR(64) NOT NULL,
    hard_limit  BIGINT      NOT NULL,
    PRIMARY KEY (project_id, resource)
);
