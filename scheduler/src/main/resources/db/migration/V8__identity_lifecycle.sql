-- Keystone's user and token life cycle: users without a default project, disabled users, unscoped
-- tokens, and each token's audit id and chain (a rescoped token joins the chain of the token it
-- came from, keeps its expiry and is revoked with it).
ALTER TABLE account ALTER COLUMN project_id DROP NOT NULL;
ALTER TABLE account ADD COLUMN enabled BOOLEAN DEFAULT TRUE NOT NULL;

ALTER TABLE auth_token ALTER COLUMN project_id DROP NOT NULL;
ALTER TABLE auth_token ADD COLUMN audit_id VARCHAR(32);
ALTER TABLE auth_token ADD COLUMN audit_chain_id VARCHAR(32);
ALTER TABLE auth_token ADD COLUMN methods VARCHAR(64);
-- Tokens issued before this migration: a chain of their own each, issued by password.
UPDATE auth_token SET audit_id = SUBSTRING(digest, 1, 22), audit_chain_id = SUBSTRING(digest, 1, 22),
    methods = 'password';
ALTER TABLE auth_token ALTER COLUMN audit_id SET NOT NULL;
ALTER TABLE auth_token ALTER COLUMN audit_chain_id SET NOT NULL;
ALTER TABLE auth_token ALTER COLUMN methods SET NOT NULL;
CREATE INDEX auth_token_by_chain ON auth_token (audit_chain_id);
CREATE INDEX auth_token_by_account ON auth_token (account_id);
