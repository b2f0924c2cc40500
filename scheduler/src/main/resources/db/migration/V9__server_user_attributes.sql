-- What tenants set on a server besides its name (Nova's lock and access addresses), and the
-- actions taken on each server, by request, as Nova's os-instance-actions lists them.
ALTER TABLE server ADD COLUMN locked_by VARCHAR(16);
ALTER TABLE server ADD COLUMN access_ipv4 VARCHAR(64) DEFAULT '' NOT NULL;
ALTER TABLE server ADD COLUMN access_ipv6 VARCHAR(64) DEFAULT '' NOT NULL;

CREATE TABLE instance_action (
    server_id  VARCHAR(64)  NOT NULL,
    request_id VARCHAR(64)  NOT NULL,
    action     VARCHAR(32)  NOT NULL,
    project_id VARCHAR(64)  NOT NULL,
    user_id    VARCHAR(64)  NOT NULL,
    start_time TIMESTAMP    NOT NULL,
    message    VARCHAR(255),
    PRIMARY KEY (server_id, request_id)
);

-- Nova's flavor access: the projects that may use a private flavor besides admins.
CREATE TABLE flavor_access (
    flavor_id  VARCHAR(64) NOT NULL REFERENCES flavor (id) ON DELETE CASCADE,
    project_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (flavor_id, project_id)
);
