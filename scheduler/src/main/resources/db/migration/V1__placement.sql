-- Placement, as OpenStack Placement keeps it: a resource provider per host with a generation that
-- every change of its inventory or allocations bumps, so that a claim is a compare-and-swap.
-- Portable SQL: the same migrations run on H2 (embedded default) and PostgreSQL.
CREATE TABLE resource_provider (
    name       VARCHAR(255) PRIMARY KEY,
    generation BIGINT       NOT NULL,
    disabled   BOOLEAN      NOT NULL
);

CREATE TABLE inventory (
    provider         VARCHAR(255)     NOT NULL REFERENCES resource_provider (name) ON DELETE CASCADE,
    resource_class   VARCHAR(32)      NOT NULL,
    total            BIGINT           NOT NULL CHECK (total >= 0),
    reserved         BIGINT           NOT NULL CHECK (reserved >= 0),
    allocation_ratio DOUBLE PRECISION NOT NULL CHECK (allocation_ratio > 0),
    PRIMARY KEY (provider, resource_class)
);

CREATE TABLE allocation (
    consumer       VARCHAR(64)  NOT NULL,
    provider       VARCHAR(255) NOT NULL REFERENCES resource_provider (name),
    resource_class VARCHAR(32)  NOT NULL,
    used           BIGINT       NOT NULL CHECK (used > 0),
    PRIMARY KEY (consumer, provider, resource_class)
);

CREATE INDEX allocation_by_provider ON allocation (provider, resource_class);
