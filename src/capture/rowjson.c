#include "capture/rowjson.h"

#include <string.h>

#include "core/timeutil.h"
#include "core/utf8.h"

enum {
    OID_BOOL = 16,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_OID = 26,
    OID_TIMESTAMP = 1114,
    OID_TIMESTAMPTZ = 1184
};

static int is_integer_text(const char *s, uint32_t n)
{
    uint32_t i = n && s[0] == '-' ? 1 : 0;
    if (i == n || n > 20)
        return 0;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static void put_value(hdp_buf *out, uint32_t oid, const pgo_value *v)
{
    switch (oid) {
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID:
        if (is_integer_text(v->data, v->len)) {
            buf_append(out, v->data, v->len);
            return;
        }
        break;
    case OID_BOOL:
        if (v->len == 1 && (v->data[0] == 't' || v->data[0] == 'f')) {
            buf_puts(out, v->data[0] == 't' ? "true" : "false");
            return;
        }
        break;
    case OID_TIMESTAMP:
    case OID_TIMESTAMPTZ: {
        int64_t us;
        if (ts_parse(v->data, v->len, &us) == 0) {
            char iso[32];
            ts_format(us, iso);
            buf_putc(out, '"');
            buf_puts(out, iso);
            buf_putc(out, '"');
            return;
        }
        break;
    }
    default:
        break;
    }
    /* numeric, text and anything else: the server's text, as a JSON string */
    buf_put_json_str(out, v->data, v->len);
}

/* "_invalid":"city=hex:4f736cff; name=hex:…": the columns whose text was not UTF-8 (a source
 * database in SQL_ASCII can send such bytes), written null, their bytes kept in hex. */
static void put_invalid(hdp_buf *out, const pgo_relation *rel, const pgo_tuple *t,
                        const char *violation)
{
    static const char hex[] = "0123456789abcdef";
    hdp_buf v = HDP_BUF_INIT;
    if (violation)
        buf_puts(&v, violation);
    for (uint16_t i = 0; i < t->ncols && i < rel->ncols; i++) {
        const pgo_value *x = &t->vals[i];
        if (x->kind != 't' || utf8_valid(x->data, x->len))
            continue;
        if (v.len)
            buf_puts(&v, "; ");
        buf_printf(&v, "%s: not valid UTF-8, hex:", rel->cols[i].name);
        for (uint32_t k = 0; k < x->len; k++) {
            buf_putc(&v, hex[(unsigned char)x->data[k] >> 4]);
            buf_putc(&v, hex[(unsigned char)x->data[k] & 15]);
        }
    }
    buf_puts(out, ",\"_invalid\":");
    buf_put_json_str(out, v.data ? v.data : "", v.len);
    buf_free(&v);
}

void rowjson_append(hdp_buf *out, const rowjson_meta *m, const pgo_relation *rel,
                    const pgo_tuple *t, const char *contract_violation)
{
    char ts[32];
    ts_format(m->commit_unix_us, ts);
    buf_printf(out,
               "{\"commit_lsn\":%llu,\"seq\":%u,\"commit_ts\":\"%s\",\"xid\":%u,\"segment\":%lld,"
               "\"op\":\"%c\",\"table\":",
               (unsigned long long)m->commit_lsn, m->seq, ts, m->xid, (long long)m->segment, m->op);
    buf_put_json_str(out, rel->relname, strlen(rel->relname));
    int unchanged = 0, invalid = 0;
    for (uint16_t i = 0; i < t->ncols && i < rel->ncols; i++) {
        buf_putc(out, ',');
        buf_put_json_str(out, rel->cols[i].name, strlen(rel->cols[i].name));
        buf_putc(out, ':');
        const pgo_value *v = &t->vals[i];
        if (v->kind == 't' && !utf8_valid(v->data, v->len)) {
            buf_puts(out, "null");
            invalid++;
        } else if (v->kind == 't') {
            put_value(out, rel->cols[i].type_oid, v);
        } else {
            buf_puts(out, "null");
            unchanged += v->kind == 'u';
        }
    }
    if (invalid || contract_violation) /* for the quarantine record compaction makes */
        put_invalid(out, rel, t, contract_violation);
    if (unchanged) {
        buf_puts(out, ",\"_unchanged\":[");
        int first = 1;
        for (uint16_t i = 0; i < t->ncols && i < rel->ncols; i++)
            if (t->vals[i].kind == 'u') {
                if (!first)
                    buf_putc(out, ',');
                first = 0;
                buf_put_json_str(out, rel->cols[i].name, strlen(rel->cols[i].name));
            }
        buf_putc(out, ']');
    }
    buf_puts(out, "}\n");
}
