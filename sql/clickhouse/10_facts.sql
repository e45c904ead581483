-- The batch views of the Lambda architecture: information marts built from the Data Vault by
-- `hdp run marts` (src/marts/). Each fact row is f(version) - f(previous version) of an
-- order, attributed to the segment of the version's commit — the rule the speed layer uses —
-- so batch(segments <= W) + speed(segments > W) is exact with no gap and no double count.
--
-- f(order) = +total at paid_at, -total at refunded_at; an order deleted, or no paid_at /
-- refunded_at, contributes nothing there. Changes of one segment are netted: a status change
-- that moves no money leaves no row. Money is exact: Decimal(18, 2), summed to
-- Decimal(38, 2).
--
-- Partitions hold 64 consecutive segments (intDiv(segment, 64)): a marts run builds each
-- partition it touches whole into the *_stage table and swaps it in with
-- ALTER TABLE ... REPLACE PARTITION ... FROM, so a re-run replaces, and a crash leaves the old
-- or the new partition, never half. Plain MergeTree: every query reads exact without FINAL.
--
-- A hard restart of ClickHouse (18.16, at least) can bring back the parts a REPLACE
-- PARTITION replaced: it forgets they were outdated. So every row carries the `build` that
-- wrote it (a number from dwh's sequence ops.marts_build, growing with every marts run), and
-- readers take, per partition, only the newest build present: fact_order_current and
-- fact_order_line_current below (hdp serve writes the same filter with its day in it). The
-- next marts run finds a partition holding more than one build and swaps in its newest
-- alone again.

CREATE TABLE IF NOT EXISTS fact_order (
    segment     Int64,
    event       Enum8('paid' = 1, 'refunded' = 2),
    event_time  DateTime('UTC'),
    day         Date,
    hour        UInt8,
    minute      UInt16,             -- of the day, 0..1439
    ship_city   String,
    customer_id Int64,
    order_id    Int64,
    amount      Decimal(18, 2),     -- signed: + paid, - refunded, negated when undone
    orders      Int8,               -- paid orders: +1, or -1 when a paid event is undone
    refunds     Int8,               -- refunded orders, likewise
    build       UInt64              -- the marts run that built this partition
) ENGINE = MergeTree
PARTITION BY intDiv(segment, 64)
ORDER BY (day, segment, order_id);

CREATE TABLE IF NOT EXISTS fact_order_stage AS fact_order;

-- The same events at line grain, for revenue by category: amount is the line's
-- quantity * unit_price with the order event's sign; orders counts each order once per
-- category (on its first line of that category).
CREATE TABLE IF NOT EXISTS fact_order_line (
    segment     Int64,
    event       Enum8('paid' = 1, 'refunded' = 2),
    event_time  DateTime('UTC'),
    day         Date,
    hour        UInt8,
    ship_city   String,
    category    String,
    customer_id Int64,
    product_id  Int64,
    order_id    Int64,
    line_no     Int32,
    amount      Decimal(18, 2),
    orders      Int8,
    build       UInt64
) ENGINE = MergeTree
PARTITION BY intDiv(segment, 64)
ORDER BY (day, segment, category, order_id, line_no);

CREATE TABLE IF NOT EXISTS fact_order_line_stage AS fact_order_line;

-- What readers use: each partition's newest build only.
CREATE VIEW IF NOT EXISTS fact_order_current AS
SELECT * FROM fact_order
WHERE (intDiv(segment, 64), build) IN
      (SELECT intDiv(segment, 64), max(build) FROM fact_order GROUP BY intDiv(segment, 64));

CREATE VIEW IF NOT EXISTS fact_order_line_current AS
SELECT * FROM fact_order_line
WHERE (intDiv(segment, 64), build) IN
      (SELECT intDiv(segment, 64), max(build) FROM fact_order_line GROUP BY intDiv(segment, 64));
