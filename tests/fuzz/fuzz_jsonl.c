/* fuzz_jsonl — the JSON Lines scanner and the typing of a raw line onto the curated schema.
 *
 * The input is split at '\n' into lines (as compaction reads a raw object); each line is
 * scanned with one reused scanner and, when it scans, mapped onto every table of the
 * contract. Invariants: fields point into the line or the scratch buffer; re-encoding the
 * fields as JSON and scanning that gives the same fields; a mapped line has op I/U/D and
 * non-negative commit_lsn and seq; mapped timestamps equal ts_parse of their text (the
 * cached fast path agrees with the full parser) and round-trip through ts_format; mapped
 * decimals round-trip through decimal_format; a line the typing fast path (sch_map_fast)
 * takes is taken by the general way too, with the same values. */
#include "fuzz.h"

#include "lake/schema.h"
#include "core/buf.h"
#include "core/decimal.h"
#include "core/timeutil.h"
#include "format/jsonl.h"

static int inside(const char *p, size_t n, const char *lo, size_t len)
{
    return p >= lo && p <= lo + len && n <= (size_t)(lo + len - p);
}

/* The fields of s as one JSON object. */
static void reencode(const jsonl_scanner *s, hdp_buf *b)
{
    buf_putc(b, '{');
    for (size_t i = 0; i < s->nfields; i++) {
        const jsonl_field *f = &s->fields[i];
        if (i)
            buf_putc(b, ',');
        buf_put_json_str(b, f->key, f->klen);
        buf_putc(b, ':');
        switch (f->kind) {
        case JV_NULL:
            buf_puts(b, "null");
            break;
        case JV_TRUE:
            buf_puts(b, "true");
            break;
        case JV_FALSE:
            buf_puts(b, "false");
            break;
        case JV_STR:
            buf_put_json_str(b, f->val, f->vlen);
            break;
        default:
            buf_append(b, f->val, f->vlen);
        }
    }
    buf_putc(b, '}');
}

static int same_bytes(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static const jsonl_field *field_named(const jsonl_scanner *s, const char *name)
{
    for (size_t i = 0; i < s->nfields; i++)
        if (same_bytes(s->fields[i].key, s->fields[i].klen, name, strlen(name)))
            return &s->fields[i];
    return NULL;
}

static void check_mapped(const sch_table *t, const jsonl_scanner *sc, const sch_value *v,
                         const char *line, size_t n)
{
    FUZZ_CHECK(v[SCH_OP].n == 1 && strchr("IUD", v[SCH_OP].s[0]) != NULL);
    FUZZ_CHECK(v[SCH_COMMIT_LSN].i >= 0 && v[SCH_SEQ].i >= 0);
    const int64_t lo = days_from_civil(0, 1, 1) * USEC_PER_DAY;
    const int64_t hi = days_from_civil(10000, 1, 1) * USEC_PER_DAY;
    for (size_t c = 0; c < t->ncols; c++) {
        if (v[c].null)
            continue;
        const jsonl_field *f = field_named(sc, t->cols[c].name);
        FUZZ_CHECK(f != NULL);
        if (t->cols[c].type == PQ_STRING) {
            FUZZ_CHECK(same_bytes(v[c].s, v[c].n, f->val, f->vlen));
            FUZZ_CHECK(inside(v[c].s, v[c].n, line, n) ||
                       inside(v[c].s, v[c].n, sc->scratch, sc->cap));
        } else if (t->cols[c].type == PQ_TIMESTAMP_US) {
            int64_t us;
            FUZZ_CHECK(ts_parse(f->val, f->vlen, &us) == 0 && us == v[c].i);
            if (us >= lo && us < hi) {
                char iso[32];
                ts_format(us, iso);
                FUZZ_CHECK(ts_parse(iso, strlen(iso), &us) == 0 && us == v[c].i);
            }
        } else if (t->cols[c].type == PQ_DECIMAL) {
            char txt[32];
            int64_t cents;
            size_t tl = decimal_format(v[c].i, txt);
            FUZZ_CHECK(decimal_parse(txt, tl, &cents) == 0 && cents == v[c].i);
        } else if (t->cols[c].type == PQ_INT32) {
            FUZZ_CHECK(v[c].i >= INT32_MIN && v[c].i <= INT32_MAX);
        }
    }
}

static int same_value(const sch_value *a, const sch_value *b, pq_type type)
{
    if (a->null != b->null)
        return 0;
    if (a->null)
        return 1;
    return type == PQ_STRING ? same_bytes(a->s, a->n, b->s, b->n) : a->i == b->i;
}

#define NTABLES 4

/* The fast path's guesses of key order carry over from line to line, as in compaction. */
static sch_fast fast_state[NTABLES];

static void one_line(jsonl_scanner *sc, jsonl_scanner *again, const char *line, size_t n)
{
    const char *why = NULL;
    size_t nt;
    const sch_table *tables = sch_tables(&nt);
    FUZZ_CHECK(nt == NTABLES);
    sch_value fast[NTABLES][SCH_MAX_COLS];
    int fast_ok[NTABLES], any_fast = 0;
    for (size_t k = 0; k < nt; k++) {
        fast_ok[k] = sch_map_fast(&fast_state[k], line, n, fast[k]);
        any_fast |= fast_ok[k];
    }
    if (jsonl_scan(sc, line, n, &why) != 0) {
        FUZZ_CHECK(why != NULL && why[0] != '\0');
        FUZZ_CHECK(!any_fast); /* the fast path takes only what the general way takes */
        return;
    }
    FUZZ_CHECK(sc->nfields <= JSONL_MAX_FIELDS);
    for (size_t i = 0; i < sc->nfields; i++) {
        const jsonl_field *f = &sc->fields[i];
        FUZZ_CHECK(inside(f->key, f->klen, line, n) ||
                   inside(f->key, f->klen, sc->scratch, sc->cap));
        if (f->kind == JV_STR || f->kind == JV_NUM || f->kind == JV_OTHER)
            FUZZ_CHECK(inside(f->val, f->vlen, line, n) ||
                       inside(f->val, f->vlen, sc->scratch, sc->cap));
        if (f->kind == JV_NUM || f->kind == JV_OTHER)
            FUZZ_CHECK(inside(f->val, f->vlen, line, n) && f->vlen > 0);
    }
    hdp_buf b = HDP_BUF_INIT;
    reencode(sc, &b);
    FUZZ_CHECK(jsonl_scan(again, b.data, b.len, &why) == 0);
    FUZZ_CHECK(again->nfields == sc->nfields);
    for (size_t i = 0; i < sc->nfields; i++) {
        const jsonl_field *x = &sc->fields[i], *y = &again->fields[i];
        FUZZ_CHECK(x->kind == y->kind);
        FUZZ_CHECK(same_bytes(x->key, x->klen, y->key, y->klen));
        if (x->kind == JV_STR || x->kind == JV_NUM || x->kind == JV_OTHER)
            FUZZ_CHECK(same_bytes(x->val, x->vlen, y->val, y->vlen));
    }
    buf_free(&b);

    for (size_t k = 0; k < nt; k++) {
        const sch_table *t = &tables[k];
        FUZZ_CHECK(t->ncols <= SCH_MAX_COLS && sch_find(t->name, strlen(t->name)) == t);
        sch_value v[SCH_MAX_COLS];
        char why_buf[128];
        uint64_t unknown = 0;
        int mapped = sch_map(t, sc, v, &unknown, why_buf, &why) == 0;
        if (mapped)
            check_mapped(t, sc, v, line, n);
        else
            FUZZ_CHECK(why != NULL && strlen(why) < 128);
        FUZZ_CHECK(unknown <= sc->nfields);
        if (fast_ok[k]) { /* the same values as the general way, which took the line whole */
            FUZZ_CHECK(mapped && unknown == 0);
            for (size_t c = 0; c < t->ncols; c++)
                FUZZ_CHECK(same_value(&fast[k][c], &v[c], t->cols[c].type));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    jsonl_scanner sc = {0}, again = {0};
    size_t nt;
    const sch_table *tables = sch_tables(&nt);
    for (size_t k = 0; k < nt && k < NTABLES; k++)
        sch_fast_init(&fast_state[k], &tables[k]);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        one_line(&sc, &again, p, n);
        p += n;
    }
    jsonl_scanner_free(&sc);
    jsonl_scanner_free(&again);
    return 0;
}
