-- The compute inventory of OCP's API: regions hold IDCs, hosts are in an
-- IDC and of a host type. host_inventory keeps what an administrator says
-- of a host beyond what its agent reports; hosts without a row joined on
-- their own. A host's zone and region columns repeat its IDC's and
-- region's names, which placement reads; IDCs and regions cannot be
-- renamed, so the copies stay right.

-- +goose Up
CREATE TABLE regions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

CREATE TABLE idcs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    region_id   BIGINT  NOT NULL REFERENCES regions (id),
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE INDEX idcs_region ON idcs (region_id);

CREATE TABLE host_types (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

CREATE TABLE host_inventory (
    host_id       BIGINT  PRIMARY KEY REFERENCES hosts (id) ON DELETE CASCADE,
    idc_id        BIGINT  REFERENCES idcs (id),
    type_id       BIGINT  REFERENCES host_types (id),
    kind          TEXT    NOT NULL DEFAULT '',
    ssh_port      INTEGER NOT NULL DEFAULT 0,
    serial_number TEXT    NOT NULL DEFAULT '',
    alias         TEXT    NOT NULL DEFAULT '',
    description   TEXT    NOT NULL DEFAULT '',
    vpc_id        BIGINT  NOT NULL DEFAULT 0,
    publish_ports TEXT    NOT NULL DEFAULT '' -- comma-separated "host:container" pairs
);
CREATE INDEX host_inventory_idc ON host_inventory (idc_id);
CREATE INDEX host_inventory_type ON host_inventory (type_id);

-- +goose Down
DROP TABLE host_inventory;
DROP TABLE host_types;
DROP TABLE idcs;
DROP TABLE regions;
