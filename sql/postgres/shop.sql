-- shop: the OLTP source (DESIGN.md §3). Applied by `hdp init`; idempotent.
-- Money is NUMERIC(12,2); time is timestamptz (UTC).

CREATE TABLE IF NOT EXISTS customers (
    customer_id bigint PRIMARY KEY,
    name        text        NOT NULL,
    email       text        NOT NULL,
    city        text        NOT NULL,
    country     text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS products (
    product_id bigint PRIMARY KEY,
    sku        text          NOT NULL UNIQUE,
    name       text          NOT NULL,
    category   text          NOT NULL,
    price      numeric(12,2) NOT NULL CHECK (price >= 0)
);

CREATE TABLE IF NOT EXISTS orders (
    order_id    bigint PRIMARY KEY,
    customer_id bigint        NOT NULL REFERENCES customers (customer_id),
    status      text          NOT NULL
                CHECK (status IN ('paid', 'shipped', 'delivered', 'refunded')),
    currency    char(3)       NOT NULL DEFAULT 'USD',
    total       numeric(12,2) NOT NULL CHECK (total >= 0),
    ship_city   text          NOT NULL,
    created_at  timestamptz   NOT NULL,
    updated_at  timestamptz   NOT NULL,
    paid_at     timestamptz,
    refunded_at timestamptz,
    CHECK ((status = 'refunded') = (refunded_at IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS orders_paid_at_idx ON orders (paid_at);
CREATE INDEX IF NOT EXISTS orders_refunded_at_idx ON orders (refunded_at)
    WHERE refunded_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS orders_customer_idx ON orders (customer_id);

CREATE TABLE IF NOT EXISTS order_items (
    order_id   bigint        NOT NULL REFERENCES orders (order_id),
    line_no    int           NOT NULL CHECK (line_no > 0),
    product_id bigint        NOT NULL REFERENCES products (product_id),
    quantity   int           NOT NULL CHECK (quantity > 0),
    unit_price numeric(12,2) NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (order_id, line_no)
);

-- Consumers see an order's status transition in one Update message (old and new row), so a
-- refund is recognised without any state of their own.
ALTER TABLE orders REPLICA IDENTITY FULL;

-- A heartbeat row moves a quiet change stream on, so a segment closes by itself within
-- HDP_SEGMENT_SECONDS (DESIGN.md §2.2).
CREATE TABLE IF NOT EXISTS hdp_heartbeat (
    id      int PRIMARY KEY,
    beat_at timestamptz NOT NULL
);

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'hdp_pub') THEN
        CREATE PUBLICATION hdp_pub
            FOR TABLE customers, products, orders, order_items, hdp_heartbeat;
    END IF;
END
$$;
