#include "lake/schema.h"

#include <stdio.h>
#include <string.h>

#include "core/decimal.h"
#include "core/timeutil.h"
#include "core/utf8.h"

#define META                                                                                       \
    {"commit_lsn", PQ_INT64, 0, 0}, {"seq", PQ_INT32, 0, 0}, {"commit_ts", PQ_TIMESTAMP_US, 0, 0}, \
        {"xid", PQ_INT64, 0, 0}, {"segment", PQ_INT64, 0, 0},                                      \
    {                                                                                              \
        "op", PQ_STRING, 0, 0                                                                      \
    }
#define MONEY    PQ_DECIMAL, 12, 2
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const pq_column_def customers_cols[] = {
    META,
    {"customer_id", PQ_INT64, 0, 0},
    {"name", PQ_STRING, 0, 0},
    {"email", PQ_STRING, 0, 0},
    {"city", PQ_STRING, 0, 0},
    {"country", PQ_STRING, 0, 0},
    {"created_at", PQ_TIMESTAMP_US, 0, 0},
    {"updated_at", PQ_TIMESTAMP_US, 0, 0},
};

static const pq_column_def products_cols[] = {
    META,
    {"product_id", PQ_INT64, 0, 0},
    {"sku", PQ_STRING, 0, 0},
    {"name", PQ_STRING, 0, 0},
    {"category", PQ_STRING, 0, 0},
    {"price", MONEY},
};

static const pq_column_def orders_cols[] = {
    META,
    {"order_id", PQ_INT64, 0, 0},
    {"customer_id", PQ_INT64, 0, 0},
    {"status", PQ_STRING, 0, 0},
    {"currency", PQ_STRING, 0, 0},
    {"total", MONEY},
    {"ship_city", PQ_STRING, 0, 0},
    {"created_at", PQ_TIMESTAMP_US, 0, 0},
    {"updated_at", PQ_TIMESTAMP_US, 0, 0},
    {"paid_at", PQ_TIMESTAMP_US, 0, 0},
    {"refunded_at", PQ_TIMESTAMP_US, 0, 0},
};

static const pq_column_def order_items_cols[] = {
    META,
    {"order_id", PQ_INT64, 0, 0},
    {"line_no", PQ_INT32, 0, 0},
    {"product_id", PQ_INT64, 0, 0},
    {"quantity", PQ_INT32, 0, 0},
    {"unit_price", MONEY},
};

static const sch_table tables[] = {
    {.name = "customers", .cols = customers_cols, .ncols = COUNT(customers_cols)},
    {.name = "order_items", .cols = order_items_cols, .ncols = COUNT(order_items_cols)},
    {.name = "orders", .cols = orders_cols, .ncols = COUNT(orders_cols)},
    {.name = "products", .cols = products_cols, .ncols = COUNT(products_cols)},
};

const sch_table *sch_tables(size_t *count)
{
    *count = COUNT(tables);
    return tables;
}

const sch_table *sch_find(const char *name, size_t n)
{
    for (size_t i = 0; i < COUNT(tables); i++)
        if (strlen(tables[i].name) == n && memcmp(tables[i].name, name, n) == 0)
            return &tables[i];
    return NULL;
}

/* ------------------------------------------------------------------ values */

/* A JSON integer (no fraction, no exponent) within [lo, hi]. */
static int parse_int(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out)
{
    size_t i = 0;
    int neg = n > 0 && s[0] == '-';
    i = (size_t)neg;
    if (i == n || n - i > 19)
        return -1;
    uint64_t v = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9)
            return -1;
        v = v * 10 + d;
    }
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return -1;
    int64_t r = neg ? (int64_t)(0 - v) : (int64_t)v;
    if (r < lo || r > hi)
        return -1;
    *out = r;
    return 0;
}

/* Two ASCII digits at s, or -1. */
static int two_digits(const char *s)
{
    unsigned a = (unsigned)(s[0] - '0'), b = (unsigned)(s[1] - '0');
    return a > 9 || b > 9 ? -1 : (int)(a * 10 + b);
}

/* Capture's own timestamp shape "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" with the date's day number
 * cached (rows of a segment share a few dates); anything else, and every new date, goes
 * through ts_parse, which validates the calendar. */
static int parse_ts(const char *s, size_t n, int64_t *us)
{
    static _Thread_local char day_text[10];
    static _Thread_local int64_t day_us = INT64_MIN;
    if ((n == 20 || n == 27) && s[n - 1] == 'Z' && s[10] == 'T' && s[13] == ':' && s[16] == ':' &&
        (n == 20 || s[19] == '.') && day_us != INT64_MIN && memcmp(s, day_text, 10) == 0) {
        int hh = two_digits(s + 11), mi = two_digits(s + 14), ss = two_digits(s + 17);
        int64_t frac = 0;
        for (size_t i = 20; i + 1 < n; i++) {
            unsigned d = (unsigned)(s[i] - '0');
            if (d > 9)
                return ts_parse(s, n, us);
            frac = frac * 10 + d;
        }
        if (hh < 0 || mi < 0 || ss < 0 || hh > 23 || mi > 59 || ss > 60)
            return ts_parse(s, n, us);
        *us = day_us + ((int64_t)hh * 3600 + mi * 60 + ss) * USEC_PER_SEC + frac;
        return 0;
    }
    if (ts_parse(s, n, us) != 0)
        return -1;
    if ((n == 20 || n == 27) && s[n - 1] == 'Z') {
        /* the cache is keyed by the date text: store that date's start, not the day *us
         * falls on (23:59:60 is the next day) */
        char date[11];
        int64_t day;
        memcpy(date, s, 10);
        date[10] = '\0';
        if (date_parse(date, &day) == 0) {
            memcpy(day_text, s, 10);
            day_us = day * USEC_PER_DAY;
        }
    }
    return 0;
}

/* One field's value into a column of type ct; a reason on mismatch. */
static const char *convert(const pq_column_def *col, const jsonl_field *f, sch_value *v)
{
    v->null = 0;
    if (f->kind == JV_NULL) {
        v->null = 1;
        return NULL;
    }
    switch (col->type) {
    case PQ_INT64:
        if (f->kind != JV_NUM || parse_int(f->val, f->vlen, INT64_MIN, INT64_MAX, &v->i) != 0)
            return "not a 64-bit integer";
        return NULL;
    case PQ_INT32:
        if (f->kind != JV_NUM || parse_int(f->val, f->vlen, INT32_MIN, INT32_MAX, &v->i) != 0)
            return "not a 32-bit integer";
        return NULL;
    case PQ_DECIMAL: {
        const char *why = "not a decimal";
        if ((f->kind != JV_STR && f->kind != JV_NUM) ||
            decimal_parse_money(f->val, f->vlen, &v->i, &why) != 0)
            return why; /* never rounded or cut: 3189.551 is no DECIMAL(12,2) */
        return NULL;
    }
    case PQ_TIMESTAMP_US:
        if (f->kind != JV_STR || parse_ts(f->val, f->vlen, &v->i) != 0)
            return "not a timestamp";
        return NULL;
    case PQ_STRING:
        if (f->kind != JV_STR || f->vlen > UINT32_MAX)
            return "not a string";
        v->s = f->val;
        v->n = (uint32_t)f->vlen;
        return NULL;
    case PQ_BOOLEAN:
        if (f->kind != JV_TRUE && f->kind != JV_FALSE)
            return "not a boolean";
        v->i = f->kind == JV_TRUE;
        return NULL;
    }
    return "unsupported column type";
}

/* Column name nm (NUL-terminated) equals key[0..klen) (which may hold any byte). */
static int name_is(const char *nm, const char *key, size_t klen)
{
    for (size_t i = 0; i < klen; i++)
        if (nm[i] != key[i] || nm[i] == '\0')
            return 0;
    return nm[klen] == '\0';
}

static int col_index(const sch_table *t, const jsonl_field *f, size_t hint)
{
    if (hint < t->ncols && name_is(t->cols[hint].name, f->key, f->klen))
        return (int)hint;
    for (size_t c = 0; c < t->ncols; c++)
        if (name_is(t->cols[c].name, f->key, f->klen))
            return (int)c;
    return -1;
}

static int bad(char why_buf[128], const char **why, const char *fmt, const char *a, const char *b)
{
    snprintf(why_buf, 128, fmt, a, b);
    *why = why_buf;
    return -1;
}

/* The checks of a mapped row once its keys are read (both ways of mapping make them): 0, or
 * -1 with the reason. */
static int row_whole(const sch_table *t, const sch_value *out, char why_buf[128], const char **why)
{
    static const int required[] = {SCH_COMMIT_LSN, SCH_SEQ, SCH_COMMIT_TS, SCH_SEGMENT, SCH_OP};
    for (size_t k = 0; k < sizeof(required) / sizeof(required[0]); k++)
        if (out[required[k]].null)
            return bad(why_buf, why, "missing %s%s", t->cols[required[k]].name, "");
    const sch_value *op = &out[SCH_OP];
    if (op->n != 1 || (op->s[0] != 'I' && op->s[0] != 'U' && op->s[0] != 'D'))
        return bad(why_buf, why, "column op: not I, U or D%s%s", "", "");
    if (out[SCH_COMMIT_LSN].i < 0 || out[SCH_SEQ].i < 0)
        return bad(why_buf, why, "negative commit_lsn or seq%s%s", "", "");
    return 0;
}

int sch_map(const sch_table *t, const jsonl_scanner *sc, sch_value *out, uint64_t *unknown_keys,
            char why_buf[128], const char **why)
{
    for (size_t c = 0; c < t->ncols; c++)
        out[c] = (sch_value){0, NULL, 0, 1};
    uint8_t seen[SCH_MAX_COLS] = {0};
    size_t hint = 0;
    for (size_t i = 0; i < sc->nfields; i++) {
        const jsonl_field *f = &sc->fields[i];
        if (f->klen == 8 && memcmp(f->key, "_invalid", 8) == 0) { /* capture's verdict */
            int n = f->kind == JV_STR ? (int)(f->vlen > 80 ? 80 : f->vlen) : 0;
            snprintf(why_buf, 128, "breaks the contract in the source: %.*s", n, f->val);
            *why = why_buf;
            return -1;
        }
        if (f->klen == 5 && memcmp(f->key, "table", 5) == 0) {
            if (f->kind != JV_STR || !name_is(t->name, f->val, f->vlen))
                return bad(why_buf, why, "field table is not \"%s\"%s", t->name, "");
            continue;
        }
        int c = col_index(t, f, hint);
        if (c < 0) {
            ++*unknown_keys;
            continue;
        }
        if (seen[c])
            return bad(why_buf, why, "duplicate key %s%s", t->cols[c].name, "");
        seen[c] = 1;
        hint = (size_t)c + 1;
        const char *r = convert(&t->cols[c], f, &out[c]);
        if (r)
            return bad(why_buf, why, "column %s: %s", t->cols[c].name, r);
    }
    return row_whole(t, out, why_buf, why);
}

/* ------------------------------------------------------------------ the fast path */

#define KEY_TABLE 0xFF /* order[]: the "table" key */

void sch_fast_init(sch_fast *f, const sch_table *t)
{
    memset(f, 0, sizeof(*f));
    f->t = t;
    f->table_len = strlen(t->name);
    for (size_t c = 0; c < t->ncols && c < SCH_MAX_COLS; c++) {
        char pat[16] = {0};
        size_t n = strlen(t->cols[c].name);
        if (n + 2 <= sizeof(pat)) {
            memcpy(pat, t->cols[c].name, n);
            memcpy(pat + n, "\":", 2);
            for (int w = 0; w < 2; w++) {
                memcpy(&f->key_word[c][w], pat + 8 * w, 8);
                uint64_t m = 0;
                for (size_t i = 0; i < 8; i++)
                    if (8 * (size_t)w + i < n + 2)
                        m |= UINT64_C(0xFF) << (8 * i);
                f->key_mask[c][w] = m;
            }
        }
        f->key_len[c] = (uint8_t)(n + 2);
    }
}

/* The first byte of s[0..n) that ends a plain string: '"', '\\', a control character or a
 * byte >= 0x80; n when there is none. Eight bytes at a time: the lowest flagged byte of a
 * word is exact (a borrow only runs upward). */
static size_t plain_run(const char *s, size_t n)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, s + i, 8);
        uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
        uint64_t hit =
            (((q - ones) & ~q) | ((b - ones) & ~b) | ((v - ones * 0x20) & ~v) | v) & high;
        if (hit) /* little-endian: the first byte is the lowest */
            return i + (size_t)__builtin_ctzll(hit) / 8;
    }
    for (; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\' || ch < 0x20 || ch >= 0x80)
            return i;
    }
    return n;
}

/* A string value at *pp (at its opening quote) without escapes or control characters; UTF-8
 * is validated. Returns its length and moves *pp past the closing quote, or -1. */
static long plain_string(const char **pp, const char *end)
{
    const char *p = *pp + 1, *start = p;
    for (;;) {
        p += plain_run(p, (size_t)(end - p));
        if (p == end)
            return -1;
        if (*p == '"')
            break;
        if ((unsigned char)*p < 0x80)
            return -1; /* an escape or a control character */
        size_t k = utf8_seq_len((const unsigned char *)p, (size_t)(end - p));
        if (k == 0)
            return -1;
        p += k;
    }
    *pp = p + 1;
    return (long)(p - start);
}

/* A JSON integer at *pp: -?(0|[1-9][0-9]*), not followed by a fraction or an exponent. The
 * value is accumulated while the digits are scanned (one pass, not a scan and a parse_int);
 * more than 19 digits are refused before the wrapped sum is looked at. */
static int plain_int(const char **pp, const char *end, int64_t lo, int64_t hi, int64_t *v)
{
    const char *p = *pp;
    int neg = p < end && *p == '-';
    p += neg;
    const char *d = p;
    uint64_t u = 0;
    unsigned x;
    while (p < end && (x = (unsigned)(*p - '0')) <= 9) {
        u = u * 10 + x;
        p++;
    }
    size_t nd = (size_t)(p - d);
    if (nd == 0 || nd > 19 || (*d == '0' && nd > 1))
        return -1;
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
        return -1;
    if (neg ? u > (uint64_t)INT64_MAX + 1 : u > (uint64_t)INT64_MAX)
        return -1;
    int64_t r = neg ? (int64_t)(0 - u) : (int64_t)u;
    if (r < lo || r > hi)
        return -1;
    *v = r;
    *pp = p;
    return 0;
}

/* Does the key at p (just past its opening quote; avail bytes left) name column c? Compares
 * `name":` with two masked word compares; the line has 16 bytes to spare or goes bytewise. */
static int key_is(const sch_fast *f, size_t c, const char *p, size_t avail)
{
    size_t n = f->key_len[c];
    if (avail < n)
        return 0;
    if (n <= 16 && avail >= 16) {
        uint64_t a, b;
        memcpy(&a, p, 8);
        memcpy(&b, p + 8, 8);
        return ((a & f->key_mask[c][0]) ^ f->key_word[c][0]) == 0 &&
               ((b & f->key_mask[c][1]) ^ f->key_word[c][1]) == 0;
    }
    return memcmp(p, f->t->cols[c].name, n - 2) == 0 && p[n - 2] == '"' && p[n - 1] == ':';
}

/* The column named by the key at p (just past its opening quote), guessing `guess` first;
 * KEY_TABLE for "table"; -1 for anything else. On a match *len receives the bytes of
 * `name":`. */
static int fast_key(const sch_fast *f, const char *p, const char *end, size_t guess, size_t *len)
{
    const sch_table *t = f->t;
    size_t avail = (size_t)(end - p);
    if (guess == KEY_TABLE && avail >= 7 && memcmp(p, "table\":", 7) == 0) {
        *len = 7;
        return KEY_TABLE;
    }
    if (guess < t->ncols && key_is(f, guess, p, avail)) {
        *len = f->key_len[guess];
        return (int)guess;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        if (key_is(f, c, p, avail)) {
            *len = f->key_len[c];
            return (int)c;
        }
    }
    if (avail >= 7 && memcmp(p, "table\":", 7) == 0) {
        *len = 7;
        return KEY_TABLE;
    }
    return -1;
}

/* One value of column col at *pp into v; -1 when the fast path does not take it. */
static int fast_value(const pq_column_def *col, const char **pp, const char *end, sch_value *v)
{
    const char *p = *pp;
    if (p == end)
        return -1;
    if (*p == 'n') {
        if (end - p < 4 || memcmp(p, "null", 4) != 0)
            return -1;
        *pp = p + 4;
        return 0; /* v stays NULL */
    }
    v->null = 0;
    long n;
    const char *why;
    switch (col->type) {
    case PQ_INT64:
        return plain_int(pp, end, INT64_MIN, INT64_MAX, &v->i);
    case PQ_INT32:
        return plain_int(pp, end, INT32_MIN, INT32_MAX, &v->i);
    case PQ_DECIMAL:
        if (*p != '"' || (n = plain_string(pp, end)) < 0)
            return -1;
        return decimal_parse_money(p + 1, (size_t)n, &v->i, &why) == 0 ? 0 : -1;
    case PQ_TIMESTAMP_US:
        if (*p != '"' || (n = plain_string(pp, end)) < 0)
            return -1;
        return parse_ts(p + 1, (size_t)n, &v->i);
    case PQ_STRING:
        if (*p != '"' || (n = plain_string(pp, end)) < 0)
            return -1;
        v->s = p + 1;
        v->n = (uint32_t)n;
        return 0;
    case PQ_BOOLEAN:
        if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
            v->i = 1;
            *pp = p + 4;
            return 0;
        }
        if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
            v->i = 0;
            *pp = p + 5;
            return 0;
        }
        return -1;
    }
    return -1;
}

int sch_map_fast(sch_fast *f, const char *line, size_t n, sch_value *out)
{
    const sch_table *t = f->t;
    if (t->ncols > SCH_MAX_COLS)
        return 0;
    const char *p = line, *end = line + n;
    if (p < end && end[-1] == '\n')
        end--;
    if (p == end || *p != '{' || ++p == end || *p == '}')
        return 0;
    for (size_t c = 0; c < t->ncols; c++)
        out[c] = (sch_value){0, NULL, 0, 1};
    uint32_t seen = 0;
    size_t k = 0;
    for (;; k++) {
        if (k == sizeof(f->order) || *p != '"')
            return 0;
        p++;
        size_t klen;
        int c = fast_key(f, p, end, k < f->nkeys ? f->order[k] : SCH_MAX_COLS, &klen);
        if (c < 0)
            return 0;
        f->order[k] = (uint8_t)c;
        p += klen;
        if (c == KEY_TABLE) {
            size_t tl = f->table_len;
            if ((size_t)(end - p) < tl + 2 || *p != '"' || memcmp(p + 1, t->name, tl) != 0 ||
                p[tl + 1] != '"')
                return 0;
            p += tl + 2;
        } else {
            if (seen & (UINT32_C(1) << c))
                return 0;
            seen |= UINT32_C(1) << c;
            if (fast_value(&t->cols[c], &p, end, &out[c]) != 0)
                return 0;
        }
        if (p == end)
            return 0;
        if (*p == '}')
            break;
        if (*p != ',' || ++p == end)
            return 0;
    }
    if (p + 1 != end)
        return 0;
    f->nkeys = k + 1;
    char why_buf[128]; /* written only when the row is not whole: the general way says why */
    const char *why;
    return row_whole(t, out, why_buf, &why) == 0;
}

/* Is a PostgreSQL type (by OID) one the contract type ct may come from? */
static int type_fits(pq_type ct, uint32_t oid)
{
    enum {
        BOOL = 16,
        INT8 = 20,
        INT2 = 21,
        INT4 = 23,
        TEXT = 25,
        BPCHAR = 1042,
        VARCHAR = 1043,
        TS = 1114,
        TSTZ = 1184,
        NUMERIC = 1700
    };
    switch (ct) {
    case PQ_BOOLEAN:
        return oid == BOOL;
    case PQ_INT32:
        return oid == INT4 || oid == INT2;
    case PQ_INT64:
        return oid == INT8 || oid == INT4 || oid == INT2;
    case PQ_DECIMAL:
        return oid == NUMERIC;
    case PQ_TIMESTAMP_US:
        return oid == TS || oid == TSTZ;
    case PQ_STRING:
        return oid == TEXT || oid == VARCHAR || oid == BPCHAR;
    }
    return 0;
}

static const char *type_word(pq_type ct)
{
    static const char *const w[] = {"boolean", "integer",   "integer",
                                    "decimal", "timestamp", "text"};
    return ct <= PQ_STRING ? w[ct] : "?";
}

long sch_column(const sch_table *t, const char *key, size_t klen)
{
    for (size_t c = 0; c < t->ncols; c++)
        if (strlen(t->cols[c].name) == klen && memcmp(t->cols[c].name, key, klen) == 0)
            return (long)c;
    return -1;
}

int sch_relation_check(const sch_table *t, const pgo_relation *rel, char *why, size_t whylen)
{
    for (size_t c = SCH_NMETA; c < t->ncols; c++) {
        int found = -1;
        for (int k = 0; k < rel->ncols && found < 0; k++)
            if (strcmp(rel->cols[k].name, t->cols[c].name) == 0)
                found = k;
        if (found < 0) {
            snprintf(why, whylen, "column %s is missing in the source (dropped?)", t->cols[c].name);
            return -1;
        }
        if (!type_fits(t->cols[c].type, rel->cols[found].type_oid)) {
            snprintf(why, whylen, "column %s has type oid %u in the source, the contract says %s",
                     t->cols[c].name, rel->cols[found].type_oid, type_word(t->cols[c].type));
            return -1;
        }
    }
    return 0;
}

int sch_write_row(const sch_table *t, const sch_value *row, pq_writer *w, hdp_err *e)
{
    for (size_t c = 0; c < t->ncols; c++) {
        const sch_value *v = &row[c];
        int rc;
        if (v->null)
            continue; /* pq_end_row makes unwritten columns NULL */
        switch (t->cols[c].type) {
        case PQ_INT32:
            rc = pq_write_i32(w, c, (int32_t)v->i, e);
            break;
        case PQ_STRING:
            rc = pq_write_str(w, c, v->s, v->n, e);
            break;
        case PQ_BOOLEAN:
            rc = pq_write_bool(w, c, (int)v->i, e);
            break;
        default:
            rc = pq_write_i64(w, c, v->i, e);
            break;
        }
        if (rc != HDP_OK)
            return rc;
    }
    return pq_end_row(w, e);
}
