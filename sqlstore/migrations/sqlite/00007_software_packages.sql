-- Uploaded package files (.deb, .rpm): their metadata here, their bytes in
-- the control plane's content-addressed package directory under sha256.
-- A file name always means the same bytes; two names may share content.

-- +goose Up
CREATE TABLE software_packages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    file_name    TEXT   NOT NULL UNIQUE,
    format       TEXT   NOT NULL,
    name         TEXT   NOT NULL,
    version      TEXT   NOT NULL,
    release      TEXT   NOT NULL DEFAULT '',
    architecture TEXT   NOT NULL,
    description  TEXT   NOT NULL DEFAULT '',
    size         BIGINT NOT NULL,
    sha256       TEXT   NOT NULL,
    md5          TEXT   NOT NULL,
    creator      TEXT   NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL
);
CREATE INDEX software_packages_sha256 ON software_packages (sha256);

-- +goose Down
DROP TABLE software_packages;
