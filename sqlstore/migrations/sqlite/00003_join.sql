-- Agents join with one-time join tokens, stored by the SHA-256 of their
-- secret; used_at makes them one-time. The control plane's CA is one row:
-- its certificate in clear, its key encrypted under the secret key key_id.

-- +goose Up
CREATE TABLE join_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    secret_hash TEXT    NOT NULL UNIQUE,
    creator     TEXT    NOT NULL DEFAULT '',
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT,
    host_id     BIGINT, -- the host that joined with it; no FK: hosts are deleted
    created_at  BIGINT  NOT NULL
);

CREATE TABLE ca (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    cert_pem       TEXT    NOT NULL,
    key_ciphertext BLOB    NOT NULL,
    key_id         TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE ca;
DROP TABLE join_tokens;
