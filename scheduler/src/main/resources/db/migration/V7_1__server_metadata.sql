-- Nova's server metadata: a server's own key/value pairs (keys and values up to 255 characters).
CREATE TABLE server_metadata (
    server_id  VARCHAR(64)  NOT NULL,
    meta_key   VARCHAR(255) NOT NULL,
    meta_value VARCHAR(255) NOT NULL,
    PRIMARY KEY (server_id, meta_key)
);
