-- Identity and compute records of the control plane. Portable SQL: H2 and PostgreSQL run the same.

CREATE TABLE project (
    id          VARCHAR(64)  PRIMARY KEY,
    name        VARCHAR(255) NOT NULL UNIQUE,
    description VARCHAR(1024) NOT NULL,
    created_at  TIMESTAMP    NOT NULL
);

CREATE TABLE account (
    id            VARCHAR(64)  PRIMARY KEY,
    name          VARCHAR(255) NOT NULL UNIQUE,
    password_hash VARCHAR(512) NOT NULL,
    project_id    VARCHAR(64)  NOT NULL REFERENCES project (id),
    created_at    TIMESTAMP    NOT NULL
);

-- Keystone's role assignments: a role for a user on a project.
CREATE TABLE role_assignment (
    account_id VARCHAR(64) NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    project_id VARCHAR(64) NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    role       VARCHAR(32) NOT NULL,
    PRIMARY KEY (account_id, project_id, role)
);

-- Tokens are stored by their sha256: the database never holds a usable token.
CREATE TABLE auth_token (
    digest     VARCHAR(64) PRIMARY KEY,
    account_id VARCHAR(64) NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    project_id VARCHAR(64) NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    issued_at  TIMESTAMP   NOT NULL,
    expires_at TIMESTAMP   NOT NULL
);
CREATE INDEX auth_token_by_expiry ON auth_token (expires_at);

CREATE TABLE flavor (
    id         VARCHAR(64)  PRIMARY KEY,
    name       VARCHAR(255) NOT NULL UNIQUE,
    vcpus      INT          NOT NULL CHECK (vcpus > 0),
    ram_mib    BIGINT       NOT NULL CHECK (ram_mib > 0),
    disk_gib   BIGINT       NOT NULL CHECK (disk_gib >= 0),
    is_public  BOOLEAN      NOT NULL,
    created_at TIMESTAMP    NOT NULL
);

-- Image records until the image service lands: what a server boots (disk, kernel, ramdisk) by id.
CREATE TABLE image (
    id               VARCHAR(64)   PRIMARY KEY,
    name             VARCHAR(255)  NOT NULL,
    owner            VARCHAR(64)   NOT NULL,
    visibility       VARCHAR(16)   NOT NULL,
    status           VARCHAR(16)   NOT NULL,
    disk_format      VARCHAR(16)   NOT NULL,
    container_format VARCHAR(16)   NOT NULL,
    size_bytes       BIGINT        NOT NULL,
    sha256           VARCHAR(64)   NOT NULL,
    min_ram_mib      BIGINT        NOT NULL,
    min_disk_gib     BIGINT        NOT NULL,
    kernel_id        VARCHAR(64)   NOT NULL,
    ramdisk_id       VARCHAR(64)   NOT NULL,
    os_command_line  VARCHAR(2048) NOT NULL,
    -- Other properties clients set (as a JSON object of strings).
    properties       VARCHAR(32768) NOT NULL,
    created_at       TIMESTAMP     NOT NULL,
    updated_at       TIMESTAMP     NOT NULL
);

CREATE TABLE server_group (
    id         VARCHAR(64)  PRIMARY KEY,
    name       VARCHAR(255) NOT NULL,
    project_id VARCHAR(64)  NOT NULL,
    policy     VARCHAR(32)  NOT NULL,
    created_at TIMESTAMP    NOT NULL
);

CREATE TABLE server (
    id                VARCHAR(64)   PRIMARY KEY,
    name              VARCHAR(255)  NOT NULL,
    project_id        VARCHAR(64)   NOT NULL,
    user_id           VARCHAR(64)   NOT NULL,
    flavor_id         VARCHAR(64)   NOT NULL,
    -- The flavor of a resize until it is confirmed or reverted.
    pending_flavor_id VARCHAR(64),
    vcpus             INT           NOT NULL,
    ram_mib           BIGINT        NOT NULL,
    disk_gib          BIGINT        NOT NULL,
    image_id          VARCHAR(64)   NOT NULL,
    availability_zone VARCHAR(255)  NOT NULL,
    server_group_id   VARCHAR(64),
    vm_state          VARCHAR(32)   NOT NULL,
    task_state        VARCHAR(32)   NOT NULL,
    host              VARCHAR(255),
    -- The request the server's task belongs to; events of older requests do not move it.
    request_id        VARCHAR(64)   NOT NULL,
    task_started_at   TIMESTAMP     NOT NULL,
    -- Hosts a boot was tried on, comma-separated, for rescheduling elsewhere.
    tried_hosts       VARCHAR(4096) NOT NULL,
    attempts          INT           NOT NULL,
    -- The newest agent event applied, per host incarnation: older and replayed events are dropped.
    event_sequence    BIGINT        NOT NULL,
    fault_code        VARCHAR(64),
    fault_message     VARCHAR(2048),
    launched_at       TIMESTAMP,
    created_at        TIMESTAMP     NOT NULL,
    updated_at        TIMESTAMP     NOT NULL,
    deleted           BOOLEAN       NOT NULL
);
CREATE INDEX server_by_project ON server (project_id, deleted);
CREATE INDEX server_by_host ON server (host, deleted);

-- Per-project limits; a project without a row has the defaults of the configuration.
CREATE TABLE quota (
    project_id VARCHAR(64) NOT NULL,
    resource   VARCHAR(32) NOT NULL,
    hard_limit BIGINT      NOT NULL,
    PRIMARY KEY (project_id, resource)
);

-- Why an operator disabled a host (os-services); the switch itself is the resource provider's.
CREATE TABLE compute_service (
    host            VARCHAR(255)  PRIMARY KEY,
    disabled_reason VARCHAR(1024) NOT NULL
);
