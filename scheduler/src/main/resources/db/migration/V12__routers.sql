-- Neutron's L3: routers and floating IPs. A router's legs are ports (device_owner
-- network:router_interface and network:router_gateway, device_id = the router's id); a floating
-- IP's address is held by a port on its external network (device_owner network:floatingip,
-- device_id = the floating IP's id), as Neutron keeps them. Portable SQL: H2 and PostgreSQL run
-- the same.
CREATE TABLE router (
    id                 VARCHAR(64)   PRIMARY KEY,
    project_id         VARCHAR(64)   NOT NULL,
    name               VARCHAR(255)  NOT NULL,
    description        VARCHAR(255)  NOT NULL,
    admin_state_up     BOOLEAN       NOT NULL,
    -- The external network of its gateway; NULL without a gateway.
    gateway_network_id VARCHAR(64)   REFERENCES network (id),
    enable_snat        BOOLEAN       NOT NULL,
    -- Extra routes: destination,nexthop;... (read whole with the router).
    routes             VARCHAR(4096) NOT NULL,
    -- The L3 host that runs it; '' while no host has the L3 role.
    host               VARCHAR(255)  NOT NULL,
    created_at         TIMESTAMP     NOT NULL,
    updated_at         TIMESTAMP     NOT NULL,
    revision_number    BIGINT        NOT NULL
);
CREATE INDEX router_by_host ON router (host);

CREATE TABLE floating_ip (
    id                  VARCHAR(64)  PRIMARY KEY,
    project_id          VARCHAR(64)  NOT NULL,
    description         VARCHAR(255) NOT NULL,
    floating_network_id VARCHAR(64)  NOT NULL REFERENCES network (id),
    -- The port that holds the address on the external network (deleted with the floating IP).
    floating_port_id    VARCHAR(64)  NOT NULL,
    floating_ip_address VARCHAR(64)  NOT NULL,
    -- The association: all three set, or all three NULL.
    port_id             VARCHAR(64),
    fixed_ip_address    VARCHAR(64),
    router_id           VARCHAR(64)  REFERENCES router (id),
    created_at          TIMESTAMP    NOT NULL,
    updated_at          TIMESTAMP    NOT NULL,
    revision_number     BIGINT       NOT NULL,
    -- One floating IP per fixed address: of two racing associations only one commits.
    UNIQUE (port_id, fixed_ip_address)
);
CREATE INDEX floating_ip_by_router ON floating_ip (router_id);

-- Whether the host runs routers (HostReport.l3_agent), as its reports say.
ALTER TABLE host_network ADD COLUMN l3_agent BOOLEAN DEFAULT FALSE NOT NULL;
