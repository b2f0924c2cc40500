-- Neutron's model: networks, their subnets, ports with their fixed IPs, security groups and their
-- rules, subnet pools and network quotas. Lists that are only ever read whole with their owner
-- (DNS servers, host routes, allocation pools, allowed address pairs) are kept as text in one
-- column; what is searched or must be unique has columns and constraints of its own.
CREATE TABLE network (
    id                    VARCHAR(64)   PRIMARY KEY,
    project_id            VARCHAR(64)   NOT NULL,
    name                  VARCHAR(255)  NOT NULL,
    description           VARCHAR(255)  NOT NULL,
    admin_state_up        BOOLEAN       NOT NULL,
    shared                BOOLEAN       NOT NULL,
    router_external       BOOLEAN       NOT NULL,
    network_type          VARCHAR(16)   NOT NULL,
    -- The VXLAN VNI; unique, so that two creates cannot take one VNI (the loser picks again).
    segmentation_id       INTEGER       UNIQUE,
    physical_network      VARCHAR(64),
    mtu                   INTEGER       NOT NULL,
    port_security_enabled BOOLEAN       NOT NULL,
    created_at            TIMESTAMP     NOT NULL,
    updated_at            TIMESTAMP     NOT NULL,
    revision_number       BIGINT        NOT NULL
);

CREATE TABLE subnet_pool (
    id                VARCHAR(64)   PRIMARY KEY,
    project_id        VARCHAR(64)   NOT NULL,
    name              VARCHAR(255)  NOT NULL,
    description       VARCHAR(255)  NOT NULL,
    ip_version        INTEGER       NOT NULL,
    prefixes          VARCHAR(4096) NOT NULL,
    default_prefixlen INTEGER       NOT NULL,
    min_prefixlen     INTEGER       NOT NULL,
    max_prefixlen     INTEGER       NOT NULL,
    shared            BOOLEAN       NOT NULL,
    is_default        BOOLEAN       NOT NULL,
    created_at        TIMESTAMP     NOT NULL,
    updated_at        TIMESTAMP     NOT NULL,
    revision_number   BIGINT        NOT NULL
);

CREATE TABLE subnet (
    id                VARCHAR(64)   PRIMARY KEY,
    network_id        VARCHAR(64)   NOT NULL REFERENCES network (id) ON DELETE CASCADE,
    project_id        VARCHAR(64)   NOT NULL,
    name              VARCHAR(255)  NOT NULL,
    description       VARCHAR(255)  NOT NULL,
    ip_version        INTEGER       NOT NULL,
    cidr              VARCHAR(64)   NOT NULL,
    gateway_ip        VARCHAR(64),
    enable_dhcp       BOOLEAN       NOT NULL,
    dns_nameservers   VARCHAR(4096) NOT NULL,
    host_routes       VARCHAR(4096) NOT NULL,
    allocation_pools  VARCHAR(4096) NOT NULL,
    ipv6_ra_mode      VARCHAR(32),
    ipv6_address_mode VARCHAR(32),
    subnetpool_id     VARCHAR(64)   REFERENCES subnet_pool (id),
    created_at        TIMESTAMP     NOT NULL,
    updated_at        TIMESTAMP     NOT NULL,
    revision_number   BIGINT        NOT NULL
);
CREATE INDEX subnet_by_network ON subnet (network_id);

CREATE TABLE port (
    id                    VARCHAR(64)   PRIMARY KEY,
    network_id            VARCHAR(64)   NOT NULL REFERENCES network (id),
    project_id            VARCHAR(64)   NOT NULL,
    name                  VARCHAR(255)  NOT NULL,
    description           VARCHAR(255)  NOT NULL,
    mac_address           VARCHAR(32)   NOT NULL,
    admin_state_up        BOOLEAN       NOT NULL,
    device_id             VARCHAR(255)  NOT NULL,
    device_owner          VARCHAR(255)  NOT NULL,
    host_id               VARCHAR(255)  NOT NULL,
    vnic_type             VARCHAR(32)   NOT NULL,
    port_security_enabled BOOLEAN       NOT NULL,
    allowed_address_pairs VARCHAR(4096) NOT NULL,
    -- Whether the port was made for a server by the compute side (and is deleted with it).
    made_for_server       BOOLEAN       NOT NULL,
    created_at            TIMESTAMP     NOT NULL,
    updated_at            TIMESTAMP     NOT NULL,
    revision_number       BIGINT        NOT NULL,
    UNIQUE (network_id, mac_address)
);
CREATE INDEX port_by_device ON port (device_id);
CREATE INDEX port_by_host ON port (host_id);

-- IPAM: an address is taken by inserting its row; the primary key makes two requests (or two
-- scheduler replicas) that picked the same free address collide, and the loser picks again.
CREATE TABLE ip_allocation (
    network_id VARCHAR(64) NOT NULL REFERENCES network (id),
    ip_address VARCHAR(64) NOT NULL,
    subnet_id  VARCHAR(64) NOT NULL REFERENCES subnet (id),
    port_id    VARCHAR(64) NOT NULL REFERENCES port (id) ON DELETE CASCADE,
    PRIMARY KEY (network_id, ip_address)
);
CREATE INDEX ip_allocation_by_port ON ip_allocation (port_id);
CREATE INDEX ip_allocation_by_subnet ON ip_allocation (subnet_id);

CREATE TABLE security_group (
    id              VARCHAR(64)  PRIMARY KEY,
    project_id      VARCHAR(64)  NOT NULL,
    name            VARCHAR(255) NOT NULL,
    description     VARCHAR(255) NOT NULL,
    created_at      TIMESTAMP    NOT NULL,
    updated_at      TIMESTAMP    NOT NULL,
    revision_number BIGINT       NOT NULL
);

-- One default group per project, as Neutron keeps it: the key stops a second one.
CREATE TABLE default_security_group (
    project_id        VARCHAR(64) PRIMARY KEY,
    security_group_id VARCHAR(64) NOT NULL REFERENCES security_group (id) ON DELETE CASCADE
);

CREATE TABLE security_group_rule (
    id                VARCHAR(64)  PRIMARY KEY,
    security_group_id VARCHAR(64)  NOT NULL REFERENCES security_group (id) ON DELETE CASCADE,
    project_id        VARCHAR(64)  NOT NULL,
    direction         VARCHAR(8)   NOT NULL,
    ethertype         VARCHAR(8)   NOT NULL,
    protocol          VARCHAR(32),
    port_range_min    INTEGER,
    port_range_max    INTEGER,
    remote_ip_prefix  VARCHAR(64),
    remote_group_id   VARCHAR(64)  REFERENCES security_group (id) ON DELETE CASCADE,
    description       VARCHAR(255) NOT NULL,
    -- What the rule matches, in one canonical string: equal rules collide here (409).
    fingerprint       VARCHAR(512) NOT NULL,
    created_at        TIMESTAMP    NOT NULL,
    updated_at        TIMESTAMP    NOT NULL,
    revision_number   BIGINT       NOT NULL,
    UNIQUE (security_group_id, fingerprint)
);

CREATE TABLE port_security_group (
    port_id           VARCHAR(64) NOT NULL REFERENCES port (id) ON DELETE CASCADE,
    security_group_id VARCHAR(64) NOT NULL REFERENCES security_group (id),
    PRIMARY KEY (port_id, security_group_id)
);

CREATE TABLE network_quota (
    project_id VARCHAR(64) NOT NULL,
    resource   VARCHAR(32) NOT NULL,
    hard_limit BIGINT      NOT NULL,
    PRIMARY KEY (project_id, resource)
);

-- What each host's network is built from: its tunnel endpoint (from its reports) and the
-- generation of its HostNetworkState, bumped in the transaction of every change that concerns it.
CREATE TABLE host_network (
    host           VARCHAR(255) PRIMARY KEY,
    tunnel_address VARCHAR(64)  NOT NULL,
    generation     BIGINT       NOT NULL
);
