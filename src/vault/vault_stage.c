#include "vault/vault_stage.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lake/schema.h"
#include "core/decimal.h"
#include "core/timeutil.h"
#include "format/copybin.h"
#include "format/copytext.h"

/* ------------------------------------------------------------------ what each table becomes */

enum { M_LSN, M_SEQ, M_TS, M_OP, M_SEGMENT, NMETA };
#define MAX_COLS 12

typedef struct source_spec {
    const char *name;
    const char *cols[MAX_COLS]; /* after the meta columns */
    int ncols;
    int nkey;         /* cols[0..nkey) must not be NULL */
    int nhk;          /* cols[0..nhk) are the satellite's hash key parts */
    int attr0, nattr; /* the satellite's attributes, in hashdiff order */
    int sat, hub;     /* outputs; hub -1 for order lines (a link's satellite) */
    int domain;       /* what an accepted row makes known; -1 for none */
    int pit;          /* the satellite's PIT output, or -1 */
} source_spec;

static const source_spec specs[VSRC_N] = {
    [VSRC_CUSTOMERS] = {"customers",
                        {"customer_id", "name", "email", "city", "country"},
                        5,
                        1,
                        1,
                        1,
                        4,
                        VS_SAT_CUSTOMER,
                        VS_HUB_CUSTOMER,
                        VD_CUSTOMER,
                        VS_PIT_CUSTOMER},
    [VSRC_PRODUCTS] = {"products",
                       {"product_id", "sku", "name", "category", "price"},
                       5,
                       1,
                       1,
                       1,
                       4,
                       VS_SAT_PRODUCT,
                       VS_HUB_PRODUCT,
                       VD_PRODUCT,
                       -1},
    [VSRC_ORDERS] = {"orders",
                     {"order_id", "customer_id", "status", "total", "currency", "ship_city",
                      "created_at", "paid_at", "refunded_at"},
                     9,
                     2,
                     1,
                     2,
                     7,
                     VS_SAT_ORDER,
                     VS_HUB_ORDER,
                     VD_ORDER,
                     VS_PIT_ORDER},
    [VSRC_ORDER_ITEMS] = {"order_items",
                          {"order_id", "product_id", "line_no", "quantity", "unit_price"},
                          5,
                          3,
                          3,
                          3,
                          2,
                          VS_SAT_ORDER_LINE,
                          -1,
                          -1,
                          -1},
};

/* What a satellite's map keeps per key: the last row emitted for it this load. */
typedef struct sat_last {
    uint8_t hashdiff[VH_LEN];
    int64_t ts;
} sat_last;

static const char *const meta_names[NMETA] = {"commit_lsn", "seq", "commit_ts", "op", "segment"};

/* Staging tables mirror the vault's columns; sat rows add (lsn, seq, segment, first). Rows
 * go in binary (copybin.h); quarantine rows, rare and of any shape, as text. */
static const char *const copy_sql[VS_NOUT] = {
    [VS_HUB_CUSTOMER] = "COPY stg_hub_customer FROM STDIN (FORMAT binary)",
    [VS_HUB_PRODUCT] = "COPY stg_hub_product FROM STDIN (FORMAT binary)",
    [VS_HUB_ORDER] = "COPY stg_hub_order FROM STDIN (FORMAT binary)",
    [VS_LINK_ORDER_CUSTOMER] = "COPY stg_link_order_customer FROM STDIN (FORMAT binary)",
    [VS_LINK_ORDER_PRODUCT] = "COPY stg_link_order_product FROM STDIN (FORMAT binary)",
    [VS_SAT_CUSTOMER] = "COPY stg_sat_customer FROM STDIN (FORMAT binary)",
    [VS_SAT_PRODUCT] = "COPY stg_sat_product FROM STDIN (FORMAT binary)",
    [VS_SAT_ORDER] = "COPY stg_sat_order FROM STDIN (FORMAT binary)",
    [VS_SAT_ORDER_LINE] = "COPY stg_sat_order_line FROM STDIN (FORMAT binary)",
    [VS_QUARANTINE] = "COPY ops.quarantine (load_id, source_table, file_key, source_lsn, "
                      "source_seq, reason, record) FROM STDIN",
    [VS_PIT_CUSTOMER] = "COPY vault.pit_customer (hk_customer, valid_from, valid_to, "
                        "sat_customer_ldts) FROM STDIN (FORMAT binary)",
    [VS_PIT_ORDER] = "COPY vault.pit_order (hk_order, valid_from, valid_to, sat_order_ldts) "
                     "FROM STDIN (FORMAT binary)",
};

const char *vstage_source_name(int src)
{
    return specs[src].name;
}

/* Hubs and links straight into the vault: the same columns, in the same order. */
static const char *const copy_direct_sql[VS_NOUT] = {
    [VS_HUB_CUSTOMER] = "COPY vault.hub_customer (hk_customer, customer_id, load_dts, "
                        "record_source) FROM STDIN (FORMAT binary)",
    [VS_HUB_PRODUCT] = "COPY vault.hub_product (hk_product, product_id, load_dts, "
                       "record_source) FROM STDIN (FORMAT binary)",
    [VS_HUB_ORDER] = "COPY vault.hub_order (hk_order, order_id, load_dts, record_source) "
                     "FROM STDIN (FORMAT binary)",
    [VS_LINK_ORDER_CUSTOMER] = "COPY vault.link_order_customer (hk_order_customer, hk_order, "
                               "hk_customer, load_dts, record_source) "
                               "FROM STDIN (FORMAT binary)",
    [VS_LINK_ORDER_PRODUCT] = "COPY vault.link_order_product (hk_order_product, hk_order, "
                              "hk_product, line_no, load_dts, record_source) "
                              "FROM STDIN (FORMAT binary)",
    [VS_SAT_CUSTOMER] = "COPY vault.sat_customer (hk_customer, load_dts, hashdiff, name, email, "
                        "city, country, is_deleted, record_source, source_lsn, source_seq, "
                        "source_segment) FROM STDIN (FORMAT binary)",
    [VS_SAT_PRODUCT] = "COPY vault.sat_product (hk_product, load_dts, hashdiff, sku, name, "
                       "category, price, is_deleted, record_source, source_lsn, source_seq, "
                       "source_segment) FROM STDIN (FORMAT binary)",
    [VS_SAT_ORDER] = "COPY vault.sat_order (hk_order, load_dts, hashdiff, status, total, "
                     "currency, ship_city, created_at, paid_at, refunded_at, is_deleted, "
                     "record_source, source_lsn, source_seq, source_segment) "
                     "FROM STDIN (FORMAT binary)",
    [VS_SAT_ORDER_LINE] = "COPY vault.sat_order_line (hk_order_product, load_dts, hashdiff, "
                          "quantity, unit_price, is_deleted, record_source, source_lsn, "
                          "source_seq, source_segment) FROM STDIN (FORMAT binary)",
};

const char *vstage_copy_sql(int out, int direct)
{
    return direct && copy_direct_sql[out] ? copy_direct_sql[out] : copy_sql[out];
}

void vstage_init(vault_stage *s, int64_t load_id)
{
    memset(s, 0, sizeof(*s));
    vh_init(&s->h);
    for (int i = 0; i < VS_NOUT; i++)
        s->out[i] = (hdp_buf)HDP_BUF_INIT;
    for (int i = 0; i < VSRC_N; i++)
        hkmap_init(&s->seen[i], sizeof(sat_last));
    hkmap_init(&s->order_customer, 0);
    s->load_id = load_id;
}

void vstage_source_done(vault_stage *s, int src)
{
    hkmap_free(&s->seen[src]);
    if (src == VSRC_ORDERS)
        hkmap_free(&s->order_customer);
    s->done[src] = 1;
}

void vstage_free(vault_stage *s)
{
    vh_free(&s->h);
    for (int i = 0; i < VSRC_N; i++)
        hkmap_free(&s->seen[i]);
    hkmap_free(&s->order_customer);
    for (int i = 0; i < VD_NDOMAIN; i++)
        i64map_free(&s->known[i]);
    for (int i = 0; i < VS_NOUT; i++)
        buf_free(&s->out[i]);
}

/* ------------------------------------------------------------------ files and values */

int vstage_file_open(vstage_file *f, int src, const char *key, const pq_reader *rd, hdp_err *e)
{
    const source_spec *sp = &specs[src];
    const sch_table *t = sch_find(sp->name, strlen(sp->name));
    memset(f, 0, sizeof(*f));
    f->src = src;
    f->key = key;
    f->rd = rd;
    for (int i = 0; i < NMETA + sp->ncols; i++) {
        const char *name = i < NMETA ? meta_names[i] : sp->cols[i - NMETA];
        long c = pq_reader_find_column(rd, name);
        if (c < 0)
            return hdp_fail(e, "%s: no column %s", key, name);
        const pq_column_def *have = pq_reader_column(rd, (size_t)c);
        for (size_t k = 0; t != NULL && k < t->ncols; k++)
            if (strcmp(t->cols[k].name, name) == 0 &&
                (have->type != t->cols[k].type ||
                 (have->type == PQ_DECIMAL && have->scale != t->cols[k].scale)))
                return hdp_fail(e, "%s: column %s has another type than the contract's", key, name);
        f->col[i] = c;
    }
    return HDP_OK;
}

static int is_null(const vstage_file *f, int i, size_t row)
{
    return pq_is_null(f->rd, (size_t)f->col[i], row);
}

static int64_t get_i64(const vstage_file *f, int i, size_t row)
{
    return pq_get_i64(f->rd, (size_t)f->col[i], row);
}

static pq_type type_of(const vstage_file *f, int i)
{
    return pq_reader_column(f->rd, (size_t)f->col[i])->type;
}

/* Column i of row as one COPY text field. */
static void put_value(hdp_buf *b, const vstage_file *f, int i, size_t row)
{
    if (is_null(f, i, row)) {
        buf_append(b, "\\N", 2);
        return;
    }
    switch (type_of(f, i)) {
    case PQ_STRING: {
        size_t n;
        const char *p = pq_get_str(f->rd, (size_t)f->col[i], row, &n);
        copy_put_textn(b, p, n);
        break;
    }
    case PQ_DECIMAL:
        decimal_put(b, get_i64(f, i, row));
        break;
    case PQ_TIMESTAMP_US:
        copy_put_ts(b, get_i64(f, i, row));
        break;
    case PQ_BOOLEAN:
        buf_putc(b, get_i64(f, i, row) ? 't' : 'f');
        break;
    default:
        buf_put_i64(b, get_i64(f, i, row));
    }
}

/* Column i of row as one binary COPY field: the contract's types are the vault's columns'
 * (INT32 int, INT64 bigint, DECIMAL(12,2) numeric, TIMESTAMP timestamptz, STRING text). */
static void put_field(hdp_buf *b, const vstage_file *f, int i, size_t row)
{
    if (is_null(f, i, row)) {
        copybin_null(b);
        return;
    }
    const pq_column_def *c = pq_reader_column(f->rd, (size_t)f->col[i]);
    switch (c->type) {
    case PQ_STRING: {
        size_t n;
        const char *p = pq_get_str(f->rd, (size_t)f->col[i], row, &n);
        copybin_bytes(b, p, n);
        break;
    }
    case PQ_DECIMAL:
        copybin_numeric(b, get_i64(f, i, row), c->scale);
        break;
    case PQ_TIMESTAMP_US:
        copybin_ts(b, get_i64(f, i, row));
        break;
    case PQ_BOOLEAN:
        copybin_bool(b, get_i64(f, i, row) != 0);
        break;
    case PQ_INT32:
        copybin_i32(b, (int32_t)get_i64(f, i, row));
        break;
    default:
        copybin_i64(b, get_i64(f, i, row));
    }
}

/* Column i of row as one part of a hash key or hashdiff. */
static void hash_value(vh_builder *h, const vstage_file *f, int i, size_t row)
{
    if (is_null(f, i, row)) {
        vh_null(h);
        return;
    }
    switch (type_of(f, i)) {
    case PQ_STRING: {
        size_t n;
        const char *p = pq_get_str(f->rd, (size_t)f->col[i], row, &n);
        vh_str(h, p, n);
        break;
    }
    case PQ_DECIMAL:
        vh_money(h, get_i64(f, i, row));
        break;
    case PQ_TIMESTAMP_US:
        vh_ts(h, get_i64(f, i, row));
        break;
    case PQ_BOOLEAN:
        vh_bool(h, (int)get_i64(f, i, row));
        break;
    default:
        vh_i64(h, get_i64(f, i, row));
    }
}

/* Column i of row as a JSON value (for quarantine records). */
static void json_value(hdp_buf *b, const vstage_file *f, int i, size_t row)
{
    if (is_null(f, i, row)) {
        buf_puts(b, "null");
        return;
    }
    switch (type_of(f, i)) {
    case PQ_STRING: {
        size_t n;
        const char *p = pq_get_str(f->rd, (size_t)f->col[i], row, &n);
        buf_put_json_str(b, p, n);
        break;
    }
    case PQ_DECIMAL:
        buf_putc(b, '"');
        decimal_put(b, get_i64(f, i, row));
        buf_putc(b, '"');
        break;
    case PQ_TIMESTAMP_US: {
        char ts[32];
        ts_format(get_i64(f, i, row), ts);
        buf_printf(b, "\"%s\"", ts);
        break;
    }
    case PQ_BOOLEAN:
        buf_puts(b, get_i64(f, i, row) ? "true" : "false");
        break;
    default:
        buf_put_i64(b, get_i64(f, i, row));
    }
}

/* The hash key of the parts cols[first..first+n) of row (column indexes after the meta). */
static void hash_cols(vault_stage *s, const vstage_file *f, const int *cols, int n, size_t row,
                      uint8_t out[VH_LEN])
{
    vh_begin(&s->h);
    for (int k = 0; k < n; k++)
        hash_value(&s->h, f, NMETA + cols[k], row);
    vh_end(&s->h, out);
}

static void put_hk(hdp_buf *b, const uint8_t hk[VH_LEN])
{
    copybin_bytes(b, hk, VH_LEN);
}

/* Starts a row of nfields in output out; a buffer's first row starts its COPY's data. */
static hdp_buf *begin_row(vault_stage *s, int out, int nfields)
{
    hdp_buf *b = &s->out[out];
    if (b->len == 0)
        copybin_header(b);
    copybin_row(b, nfields);
    s->emitted[out]++;
    return b;
}

/* The record_source field of a row from source table src: "shop.<table>". */
static void put_source(hdp_buf *b, int src)
{
    static const char *const sources[VSRC_N] = {
        [VSRC_CUSTOMERS] = "shop.customers",
        [VSRC_PRODUCTS] = "shop.products",
        [VSRC_ORDERS] = "shop.orders",
        [VSRC_ORDER_ITEMS] = "shop.order_items",
    };
    copybin_bytes(b, sources[src], strlen(sources[src]));
}

/* ------------------------------------------------------------------ outputs */

static void quarantine(vault_stage *s, const vstage_file *f, size_t row, const char *reason)
{
    const source_spec *sp = &specs[f->src];
    hdp_buf *b = &s->out[VS_QUARANTINE];
    buf_printf(b, "%" PRId64 "\t%s\t", s->load_id, sp->name);
    copy_put_textn(b, f->key, strlen(f->key));
    buf_putc(b, '\t');
    put_value(b, f, M_LSN, row);
    buf_putc(b, '\t');
    put_value(b, f, M_SEQ, row);
    buf_putc(b, '\t');
    copy_put_textn(b, reason, strlen(reason));
    buf_putc(b, '\t');
    hdp_buf j = HDP_BUF_INIT;
    buf_putc(&j, '{');
    for (int i = 0; i < NMETA + sp->ncols; i++) {
        const char *name = i < NMETA ? meta_names[i] : sp->cols[i - NMETA];
        buf_printf(&j, "%s\"%s\":", i ? "," : "", name);
        json_value(&j, f, i, row);
    }
    buf_putc(&j, '}');
    copy_put_textn(b, j.data, j.len);
    buf_free(&j);
    buf_putc(b, '\n');
    s->emitted[VS_QUARANTINE]++;
}

/* A hub row (hk, id, load_dts, record_source); the caller knows the key is new. */
static void emit_hub(vault_stage *s, const vstage_file *f, int out, const uint8_t hk[VH_LEN],
                     int64_t id, int64_t ts)
{
    hdp_buf *b = begin_row(s, out, 4);
    put_hk(b, hk);
    copybin_i64(b, id);
    copybin_ts(b, ts);
    put_source(b, f->src);
}

/* The stage writes satellite sat's PIT, and what it wrote stands. */
static int pit_by_stage(const vault_stage *s, int sat)
{
    return s->pit[sat] && !s->same_ts[sat];
}

/* A PIT row (hk, valid_from, valid_to, sat_ldts): the key's version loaded at `from` holds
 * until `to` (INT64_MAX: infinity, the current version). */
static void emit_pit(vault_stage *s, int out, const uint8_t hk[VH_LEN], int64_t from, int64_t to)
{
    hdp_buf *b = begin_row(s, out, 4);
    put_hk(b, hk);
    copybin_ts(b, from);
    if (to == INT64_MAX)
        copybin_ts_infinity(b);
    else
        copybin_ts(b, to);
    copybin_ts(b, from);
}

/* A satellite row when its hashdiff differs from the last one emitted for the key (en, the
 * key's entry; created: the load had not met the key). */
static void emit_sat(vault_stage *s, const vstage_file *f, size_t row, const uint8_t hk[VH_LEN],
                     sat_last *en, int created, int64_t ts, int deleted)
{
    const source_spec *sp = &specs[f->src];
    vh_begin(&s->h);
    for (int k = 0; k < sp->nattr; k++)
        hash_value(&s->h, f, NMETA + sp->attr0 + k, row);
    vh_bool(&s->h, deleted);
    uint8_t hd[VH_LEN];
    vh_end(&s->h, hd);
    if (!created && memcmp(en->hashdiff, hd, VH_LEN) == 0)
        return;
    if (!created && en->ts == ts)
        s->same_ts[sp->sat] = 1;
    else if (!created && pit_by_stage(s, sp->sat))
        emit_pit(s, sp->pit, hk, en->ts, ts); /* the key's last version ends here */
    memcpy(en->hashdiff, hd, VH_LEN);
    en->ts = ts;
    /* hk, load_dts, hashdiff, the attributes, is_deleted, then direct: record_source and the
     * source's lsn, seq, segment (the vault's order); staging: lsn, seq, segment, first */
    hdp_buf *b = begin_row(s, sp->sat, 3 + sp->nattr + 5);
    put_hk(b, hk);
    copybin_ts(b, ts);
    copybin_bytes(b, hd, VH_LEN);
    for (int k = 0; k < sp->nattr; k++)
        put_field(b, f, NMETA + sp->attr0 + k, row);
    copybin_bool(b, deleted);
    if (s->direct[sp->sat])
        put_source(b, f->src);
    put_field(b, f, M_LSN, row);
    put_field(b, f, M_SEQ, row);
    put_field(b, f, M_SEGMENT, row);
    if (!s->direct[sp->sat])
        copybin_bool(b, created);
}

/* A link row (hk, hk_a, hk_b[, line_no], load_dts, record_source); the caller knows the
 * link is new. */
static void emit_link(vault_stage *s, const vstage_file *f, int out, const uint8_t hk[VH_LEN],
                      const uint8_t a[VH_LEN], const uint8_t b_hk[VH_LEN], const int64_t *line_no,
                      int64_t ts)
{
    hdp_buf *b = begin_row(s, out, line_no ? 6 : 5);
    put_hk(b, hk);
    put_hk(b, a);
    put_hk(b, b_hk);
    if (line_no)
        copybin_i32(b, (int32_t)*line_no);
    copybin_ts(b, ts);
    put_source(b, f->src);
}

/* ------------------------------------------------------------------ rows */

static int known(const vault_stage *s, int domain, int64_t id)
{
    int64_t v;
    return i64map_get(&s->known[domain], id, &v);
}

void vstage_mark_known(vault_stage *s, int domain, int64_t id)
{
    i64map_put(&s->known[domain], id, 1);
}

static void add_id(vstage_ids *ids, i64map *dedup, int64_t id)
{
    int64_t v;
    if (i64map_get(dedup, id, &v))
        return;
    i64map_put(dedup, id, 1);
    if (ids->n == ids->cap) {
        ids->cap = ids->cap ? ids->cap * 2 : 256;
        ids->v = xrealloc(ids->v, ids->cap * sizeof(*ids->v));
    }
    ids->v[ids->n++] = id;
}

void vstage_refs(vault_stage *s, const vstage_file *f, size_t row0, size_t nrows,
                 vstage_ids ids[VD_NDOMAIN])
{
    i64map dedup[VD_NDOMAIN] = {I64MAP_INIT, I64MAP_INIT, I64MAP_INIT};
    for (size_t r = row0; r < row0 + nrows; r++) {
        if (f->src == VSRC_ORDERS && !is_null(f, NMETA + 1, r)) {
            int64_t c = get_i64(f, NMETA + 1, r);
            if (!known(s, VD_CUSTOMER, c))
                add_id(&ids[VD_CUSTOMER], &dedup[VD_CUSTOMER], c);
        } else if (f->src == VSRC_ORDER_ITEMS) {
            if (!is_null(f, NMETA + 0, r) && !known(s, VD_ORDER, get_i64(f, NMETA + 0, r)))
                add_id(&ids[VD_ORDER], &dedup[VD_ORDER], get_i64(f, NMETA + 0, r));
            if (!is_null(f, NMETA + 1, r) && !known(s, VD_PRODUCT, get_i64(f, NMETA + 1, r)))
                add_id(&ids[VD_PRODUCT], &dedup[VD_PRODUCT], get_i64(f, NMETA + 1, r));
        }
    }
    for (int d = 0; d < VD_NDOMAIN; d++)
        i64map_free(&dedup[d]);
}

/* Why row cannot be loaded, or NULL: a missing meta field or business key, a reference
 * to a key that is neither in this load nor in the vault. */
static const char *contract_violation(const vault_stage *s, const vstage_file *f, size_t row,
                                      char *why, size_t n)
{
    const source_spec *sp = &specs[f->src];
    for (int i = 0; i < NMETA; i++)
        if (is_null(f, i, row)) {
            snprintf(why, n, "missing %s", meta_names[i]);
            return why;
        }
    for (int k = 0; k < sp->nkey; k++)
        if (is_null(f, NMETA + k, row)) {
            snprintf(why, n, "missing business key %s", sp->cols[k]);
            return why;
        }
    if (f->src == VSRC_ORDERS && !known(s, VD_CUSTOMER, get_i64(f, NMETA + 1, row))) {
        snprintf(why, n, "unknown customer %" PRId64, get_i64(f, NMETA + 1, row));
        return why;
    }
    if (f->src == VSRC_ORDER_ITEMS && !known(s, VD_ORDER, get_i64(f, NMETA + 0, row))) {
        snprintf(why, n, "unknown order %" PRId64, get_i64(f, NMETA + 0, row));
        return why;
    }
    if (f->src == VSRC_ORDER_ITEMS && !known(s, VD_PRODUCT, get_i64(f, NMETA + 1, row))) {
        snprintf(why, n, "unknown product %" PRId64, get_i64(f, NMETA + 1, row));
        return why;
    }
    return NULL;
}

static const int key0[] = {0}, key1[] = {1}, key01[] = {0, 1}, key012[] = {0, 1, 2};

void vstage_rows(vault_stage *s, const vstage_file *f, size_t row0, size_t nrows)
{
    const source_spec *sp = &specs[f->src];
    char why[128];
    for (size_t r = row0; r < row0 + nrows; r++) {
        s->rows_read++;
        if (contract_violation(s, f, r, why, sizeof(why)) != NULL) {
            quarantine(s, f, r, why);
            continue;
        }
        int64_t ts = get_i64(f, M_TS, r);
        size_t opn;
        const char *op = pq_get_str(f->rd, (size_t)f->col[M_OP], r, &opn);
        int deleted = opn == 1 && op[0] == 'D';
        uint8_t hk[VH_LEN];
        hash_cols(s, f, sp->nhk == 3 ? key012 : key0, sp->nhk, r, hk);
        int created;
        sat_last *en = hkmap_put(&s->seen[f->src], hk, &created);
        if (sp->hub >= 0 && created)
            emit_hub(s, f, sp->hub, hk, get_i64(f, NMETA + 0, r), ts);
        if (sp->domain >= 0)
            vstage_mark_known(s, sp->domain, get_i64(f, NMETA + 0, r));
        if (f->src == VSRC_ORDERS) {
            uint8_t hk_customer[VH_LEN], hk_link[VH_LEN];
            hash_cols(s, f, key1, 1, r, hk_customer);
            hash_cols(s, f, key01, 2, r, hk_link);
            int new_link;
            hkmap_put(&s->order_customer, hk_link, &new_link);
            if (new_link)
                emit_link(s, f, VS_LINK_ORDER_CUSTOMER, hk_link, hk, hk_customer, NULL, ts);
        } else if (f->src == VSRC_ORDER_ITEMS && created) {
            /* the line's satellite key is the link's: hash(order_id, product_id, line_no) */
            uint8_t hk_order[VH_LEN], hk_product[VH_LEN];
            hash_cols(s, f, key0, 1, r, hk_order);
            hash_cols(s, f, key1, 1, r, hk_product);
            int64_t line_no = get_i64(f, NMETA + 2, r);
            emit_link(s, f, VS_LINK_ORDER_PRODUCT, hk, hk_order, hk_product, &line_no, ts);
        }
        emit_sat(s, f, r, hk, en, created, ts, deleted);
    }
}

int vstage_pit_close(vault_stage *s, int src, size_t *pos, size_t max_bytes)
{
    const source_spec *sp = &specs[src];
    if (sp->pit < 0 || !pit_by_stage(s, sp->sat))
        return 0;
    const uint8_t *key;
    while (s->out[sp->pit].len < max_bytes && (key = hkmap_next(&s->seen[src], pos)) != NULL) {
        const sat_last *en = (const sat_last *)(key + VH_LEN);
        emit_pit(s, sp->pit, key, en->ts, INT64_MAX);
    }
    return *pos < s->seen[src].cap;
}

int64_t vstage_pit_rows(const vault_stage *s, int sat)
{
    for (int src = 0; src < VSRC_N; src++)
        if (specs[src].sat == sat && specs[src].pit >= 0 && pit_by_stage(s, sat))
            return s->emitted[specs[src].pit];
    return -1;
}

void vstage_end_copy(vault_stage *s, int out)
{
    if (out != VS_QUARANTINE && s->out[out].len > 0)
        copybin_trailer(&s->out[out]);
}
