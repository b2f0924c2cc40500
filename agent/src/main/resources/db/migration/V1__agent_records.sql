-- The agent's own records, on the host's local disk. Protobuf columns hold the contract's
-- messages as they travel on the bus, so that nothing re-declares them by hand.
CREATE TABLE instance (
    id                 VARCHAR(64)  PRIMARY KEY,
    tenant_id          VARCHAR(64)  NOT NULL,
    name               VARCHAR(255) NOT NULL,
    state              VARCHAR(32)  NOT NULL,
    task_state         VARCHAR(32)  NOT NULL,
    resources          VARBINARY    NOT NULL,
    previous_resources VARBINARY,
    boot               VARBINARY    NOT NULL,
    fault              VARBINARY,
    launched_at        TIMESTAMP WITH TIME ZONE,
    sequence           BIGINT       NOT NULL,
    snapshotted        BOOLEAN      NOT NULL,
    pending_request    VARCHAR(128),
    updated_at         TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Every request the agent has applied and the events that answered it: a redelivered command is
-- answered again with the same events instead of being applied twice.
CREATE TABLE applied_request (
    request_id  VARCHAR(128) PRIMARY KEY,
    instance_id VARCHAR(64)  NOT NULL,
    events      VARBINARY    NOT NULL,
    applied_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
