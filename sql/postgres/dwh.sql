-- dwh: the Data Vault 2.0 warehouse (DESIGN.md §3). Applied by `hdp init` to database dwh;
-- idempotent. Loaded only by `hdp run vault` (src/vault/), from the curated zone of the lake.
--
-- Hash keys and hashdiffs (src/vault/vault_hash.c, the one definition): MD5 over the parts,
-- each cast to text, trimmed of spaces/tabs/CR/LF, ASCII upper-cased, joined with '||', a NULL
-- part written '^^'; stored as 16 bytes of bytea. In SQL, for checks:
--   decode(md5(upper(btrim(part::text, E' \t\r\n') COLLATE "C") || '||' || ...), 'hex')
-- Integers are decimal text, money two decimals ("12.50"), timestamps ISO-8601 UTC with
-- microseconds ("2026-11-23T10:00:00.000000Z"), booleans "true"/"false".
--
-- Every vault table is insert-only. load_dts is the source commit time of the change that
-- brought the row; record_source is 'shop.<table>'; source_lsn/source_seq place the change in
-- the source's commit order (ties of load_dts are broken by it). Satellites carry is_deleted
-- for a source DELETE. Referential integrity between links and hubs is the loader's job (a
-- record whose key would dangle is quarantined), not a foreign key: constraints checked row
-- by row would halve the load rate and prove nothing the tests do not.

CREATE SCHEMA IF NOT EXISTS vault;
CREATE SCHEMA IF NOT EXISTS ops;

-- ------------------------------------------------------------------ hubs

CREATE TABLE IF NOT EXISTS vault.hub_customer (
    hk_customer   bytea       PRIMARY KEY,
    customer_id   bigint      NOT NULL UNIQUE,
    load_dts      timestamptz NOT NULL,
    record_source text        NOT NULL
);

CREATE TABLE IF NOT EXISTS vault.hub_product (
    hk_product    bytea       PRIMARY KEY,
    product_id    bigint      NOT NULL UNIQUE,
    load_dts      timestamptz NOT NULL,
    record_source text        NOT NULL
);

CREATE TABLE IF NOT EXISTS vault.hub_order (
    hk_order      bytea       PRIMARY KEY,
    order_id      bigint      NOT NULL UNIQUE,
    load_dts      timestamptz NOT NULL,
    record_source text        NOT NULL
);

-- ------------------------------------------------------------------ links

-- hk_order_customer = hash(order_id, customer_id)
CREATE TABLE IF NOT EXISTS vault.link_order_customer (
    hk_order_customer bytea       PRIMARY KEY,
    hk_order          bytea       NOT NULL,
    hk_customer       bytea       NOT NULL,
    load_dts          timestamptz NOT NULL,
    record_source     text        NOT NULL
);
CREATE INDEX IF NOT EXISTS link_order_customer_customer_idx
    ON vault.link_order_customer (hk_customer);
CREATE INDEX IF NOT EXISTS link_order_customer_order_idx
    ON vault.link_order_customer (hk_order);

-- One row per order line: hk_order_product = hash(order_id, product_id, line_no); line_no is
-- the dependent child key.
CREATE TABLE IF NOT EXISTS vault.link_order_product (
    hk_order_product bytea       PRIMARY KEY,
    hk_order         bytea       NOT NULL,
    hk_product       bytea       NOT NULL,
    line_no          int         NOT NULL,
    load_dts         timestamptz NOT NULL,
    record_source    text        NOT NULL
);
CREATE INDEX IF NOT EXISTS link_order_product_order_idx ON vault.link_order_product (hk_order);

-- ------------------------------------------------------------------ satellites

-- hashdiff = hash(name, email, city, country, is_deleted)
CREATE TABLE IF NOT EXISTS vault.sat_customer (
    hk_customer   bytea       NOT NULL,
    load_dts      timestamptz NOT NULL,
    hashdiff      bytea       NOT NULL,
    name          text,
    email         text,
    city          text,
    country       text,
    is_deleted    boolean     NOT NULL DEFAULT false,
    record_source text        NOT NULL,
    source_lsn    bigint      NOT NULL,
    source_seq    int         NOT NULL,
    source_segment bigint,
    PRIMARY KEY (hk_customer, load_dts)
);

-- hashdiff = hash(sku, name, category, price, is_deleted)
CREATE TABLE IF NOT EXISTS vault.sat_product (
    hk_product    bytea       NOT NULL,
    load_dts      timestamptz NOT NULL,
    hashdiff      bytea       NOT NULL,
    sku           text,
    name          text,
    category      text,
    price         numeric(12,2),
    is_deleted    boolean     NOT NULL DEFAULT false,
    record_source text        NOT NULL,
    source_lsn    bigint      NOT NULL,
    source_seq    int         NOT NULL,
    source_segment bigint,
    PRIMARY KEY (hk_product, load_dts)
);

-- The order's status history: one row per distinct state.
-- hashdiff = hash(status, total, currency, ship_city, created_at, paid_at, refunded_at,
--                 is_deleted)
CREATE TABLE IF NOT EXISTS vault.sat_order (
    hk_order      bytea       NOT NULL,
    load_dts      timestamptz NOT NULL,
    hashdiff      bytea       NOT NULL,
    status        text,
    total         numeric(12,2),
    currency      text,
    ship_city     text,
    created_at    timestamptz,
    paid_at       timestamptz,
    refunded_at   timestamptz,
    is_deleted    boolean     NOT NULL DEFAULT false,
    record_source text        NOT NULL,
    source_lsn    bigint      NOT NULL,
    source_seq    int         NOT NULL,
    source_segment bigint,
    PRIMARY KEY (hk_order, load_dts)
);

-- hashdiff = hash(quantity, unit_price, is_deleted)
CREATE TABLE IF NOT EXISTS vault.sat_order_line (
    hk_order_product bytea       NOT NULL,
    load_dts         timestamptz NOT NULL,
    hashdiff         bytea       NOT NULL,
    quantity         int,
    unit_price       numeric(12,2),
    is_deleted       boolean     NOT NULL DEFAULT false,
    record_source    text        NOT NULL,
    source_lsn       bigint      NOT NULL,
    source_seq       int         NOT NULL,
    source_segment   bigint,
    PRIMARY KEY (hk_order_product, load_dts)
);

-- The segment of each version's commit (core/segment.h): what the marts attribute a change
-- to, so batch and speed layers agree by construction. Added after the first release; a
-- vault loaded before has NULL there (`hdp run marts --rebuild` needs a reload then).
ALTER TABLE vault.sat_customer ADD COLUMN IF NOT EXISTS source_segment bigint;
ALTER TABLE vault.sat_product ADD COLUMN IF NOT EXISTS source_segment bigint;
ALTER TABLE vault.sat_order ADD COLUMN IF NOT EXISTS source_segment bigint;
ALTER TABLE vault.sat_order_line ADD COLUMN IF NOT EXISTS source_segment bigint;
CREATE INDEX IF NOT EXISTS sat_order_segment_idx ON vault.sat_order (source_segment);

-- ------------------------------------------------------------------ point-in-time tables

-- One row per key and satellite version, with the interval it was the current one:
-- the state as of T is the row with valid_from <= T < valid_to; the current state has
-- valid_to = 'infinity'. Derived from the satellites (rebuilt for the keys a load touched),
-- so unlike the vault proper they are updated in place.
CREATE TABLE IF NOT EXISTS vault.pit_customer (
    hk_customer       bytea       NOT NULL,
    valid_from        timestamptz NOT NULL,
    valid_to          timestamptz NOT NULL,
    sat_customer_ldts timestamptz NOT NULL,
    PRIMARY KEY (hk_customer, valid_from)
);
CREATE INDEX IF NOT EXISTS pit_customer_current_idx ON vault.pit_customer (hk_customer)
    WHERE valid_to = 'infinity';

CREATE TABLE IF NOT EXISTS vault.pit_order (
    hk_order       bytea       NOT NULL,
    valid_from     timestamptz NOT NULL,
    valid_to       timestamptz NOT NULL,
    sat_order_ldts timestamptz NOT NULL,
    PRIMARY KEY (hk_order, valid_from)
);
CREATE INDEX IF NOT EXISTS pit_order_current_idx ON vault.pit_order (hk_order)
    WHERE valid_to = 'infinity';

-- ------------------------------------------------------------------ operations

-- One row per committed load. A load is one transaction: its row, its files and its vault
-- rows appear together or not at all.
CREATE TABLE IF NOT EXISTS ops.load_log (
    load_id       bigserial   PRIMARY KEY,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    files         int         NOT NULL,
    segment_first bigint,
    segment_last  bigint,
    rows_read     bigint      NOT NULL,
    rows_inserted bigint      NOT NULL,
    quarantined   bigint      NOT NULL,
    detail        jsonb       NOT NULL DEFAULT '{}'
);

-- Every curated file a load took; a file is loaded at most once (its key is the primary key).
CREATE TABLE IF NOT EXISTS ops.load_file (
    file_key      text        PRIMARY KEY,
    load_id       bigint      NOT NULL REFERENCES ops.load_log (load_id),
    source_table  text        NOT NULL,
    manifest      bigint      NOT NULL,
    segment_first bigint      NOT NULL,
    segment_last  bigint      NOT NULL,
    rows          bigint      NOT NULL
);
CREATE INDEX IF NOT EXISTS load_file_load_idx ON ops.load_file (load_id);

-- Records that violate the contract: a missing business key, an order of an unknown
-- customer, a line of an unknown order or product. Kept with the reason; never loaded.
CREATE TABLE IF NOT EXISTS ops.quarantine (
    id            bigserial   PRIMARY KEY,
    load_id       bigint      NOT NULL REFERENCES ops.load_log (load_id),
    source_table  text        NOT NULL,
    file_key      text        NOT NULL,
    source_lsn    bigint,
    source_seq    int,
    reason        text        NOT NULL,
    record        jsonb       NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_load_idx ON ops.quarantine (load_id);

-- ------------------------------------------------------------------ pipeline runs

-- One row per run of the batch DAG (or of one task): who started it, how it ended. Written
-- by `hdp run`, `hdp scheduler` and the API's POST /api/v1/pipeline/runs.
CREATE TABLE IF NOT EXISTS ops.run (
    run_id        bigserial   PRIMARY KEY,
    dag           text        NOT NULL,             -- 'batch', or the one task run
    trigger       text        NOT NULL,             -- cli | scheduler | api | airflow
    status        text        NOT NULL CHECK (status IN ('running', 'success', 'failed')),
    started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at   timestamptz,
    host          text,
    pid           int,
    error         text
);
CREATE INDEX IF NOT EXISTS run_started_idx ON ops.run (started_at DESC);

-- One row per task of a run: attempts, what it moved, the segment range, the error.
CREATE TABLE IF NOT EXISTS ops.task_run (
    task_run_id   bigserial   PRIMARY KEY,
    run_id        bigint      NOT NULL REFERENCES ops.run (run_id),
    task          text        NOT NULL,
    status        text        NOT NULL CHECK (status IN ('running', 'success', 'failed')),
    attempts      int         NOT NULL DEFAULT 0,
    started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at   timestamptz,
    rows          bigint,
    bytes         bigint,
    quarantined   bigint,
    segment_first bigint,
    segment_last  bigint,
    summary       text,
    error         text
);
CREATE INDEX IF NOT EXISTS task_run_run_idx ON ops.task_run (run_id);
CREATE INDEX IF NOT EXISTS task_run_task_idx ON ops.task_run (task, started_at DESC);

-- ------------------------------------------------------------------ batch progress

-- How far each batch task is complete, in segments: every change of a segment <= it is in
-- that task's output. vault: written in the load's transaction; marts: after ClickHouse took
-- the partitions. Publish reads them: W = min(compact, vault, marts).
CREATE TABLE IF NOT EXISTS ops.progress (
    stage           text        PRIMARY KEY,
    through_segment bigint      NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Compaction's per-table progress, mirrored from the lake's _state/compact/<table>.json after
-- every run of the table, for what reads dwh only (hdp serve's /metrics and pipeline status).
-- The lake's file stays the truth compaction works from.
CREATE TABLE IF NOT EXISTS ops.lake_table (
    table_name       text        PRIMARY KEY,
    complete_through bigint      NOT NULL,
    rows             bigint      NOT NULL,
    quarantined      bigint      NOT NULL,
    files            bigint      NOT NULL,
    blocked_segment  bigint,
    blocked_reason   text,
    updated_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The build number of each `hdp run marts`: every fact row in ClickHouse carries the build
-- that wrote its partition, and readers take each partition's newest (10_facts.sql says why).
CREATE SEQUENCE IF NOT EXISTS ops.marts_build;

-- The batch watermark's history: W only ever grows; the newest row is W. The serving layer
-- reads W from its Redis mirror; speed buckets at or below a W published long enough ago
-- may be dropped (never those of today and yesterday).
CREATE TABLE IF NOT EXISTS ops.watermark (
    id           bigserial   PRIMARY KEY,
    segment      bigint      NOT NULL,
    published_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    run_id       bigint
);
CREATE INDEX IF NOT EXISTS watermark_published_idx ON ops.watermark (published_at);

-- ------------------------------------------------------------------ notifications

-- The alerts' outbox: a run enqueues its message here and goes on; a sender delivers it to
-- Telegram with backoff, so Telegram being slow or down never holds up or fails a run.
-- status: pending (next_try_at says when), sent, dropped (the outbox was full: oldest go).
CREATE TABLE IF NOT EXISTS ops.notification (
    id          bigserial   PRIMARY KEY,
    run_id      bigint,
    kind        text        NOT NULL CHECK (kind IN ('success', 'failure')),
    text        text        NOT NULL,
    status      text        NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'sent', 'dropped')),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    next_try_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts    int         NOT NULL DEFAULT 0,
    sent_at     timestamptz,
    last_error  text
);
CREATE INDEX IF NOT EXISTS notification_pending_idx ON ops.notification (next_try_at)
    WHERE status = 'pending';

-- Runs asked for through POST /api/v1/pipeline/runs; the active scheduler starts them.
CREATE TABLE IF NOT EXISTS ops.run_request (
    id           bigserial   PRIMARY KEY,
    requested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    requested_by text        NOT NULL,
    run_id       bigint,                 -- set when a scheduler took it
    taken_at     timestamptz
);
