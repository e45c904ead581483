/* pqtool — test driver for the Parquet writer and reader (built by the pytest fixture).
 *
 *   pqtool write FILE CODEC ROW_GROUP_ROWS [DICT_MAX_BYTES] < table.tsv
 *       CODEC: none|snappy|zstd. First line: tab-separated "name:type" with type one of
 *       bool, int32, int64, decimal(P,S), timestamp, string. Then one row per line,
 *       tab-separated; \N is NULL; \t \n \\ escape strings; timestamps are µs integers.
 *   pqtool dump FILE     every row as a JSON object of strings ("123.45", "true") or null
 *   pqtool schema FILE   one "name type" line per column
 *   pqtool stats FILE    per row group and column: {"rg","col","min","max","nulls"}
 * Exit status 0, or 1 with the error on stderr. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "format/parquet_reader.h"
#include "format/parquet_writer.h"

static int die(const char *msg)
{
    fprintf(stderr, "pqtool: %s\n", msg);
    return 1;
}

/* unscaled integer with `scale` fraction digits */
static void put_decimal(hdp_buf *b, int64_t v, int scale)
{
    char digits[32];
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int n = snprintf(digits, sizeof(digits), "%" PRIu64, mag);
    if (v < 0)
        buf_putc(b, '-');
    if (scale == 0) {
        buf_append(b, digits, (size_t)n);
        return;
    }
    if (n <= scale) {
        buf_puts(b, "0.");
        for (int i = n; i < scale; i++)
            buf_putc(b, '0');
        buf_append(b, digits, (size_t)n);
        return;
    }
    buf_append(b, digits, (size_t)(n - scale));
    buf_putc(b, '.');
    buf_append(b, digits + n - scale, (size_t)scale);
}

static int parse_decimal(const char *s, int scale, int64_t *out)
{
    int neg = 0, frac = -1;
    __int128 v = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (*s < '0' || *s > '9')
            return -1;
        if (frac >= 0 && ++frac > scale)
            return -1;
        v = v * 10 + (*s - '0');
        if (v > ((__int128)1 << 64))
            return -1;
    }
    for (int i = frac < 0 ? 0 : frac; i < scale; i++)
        v *= 10;
    if (neg)
        v = -v;
    if (v < INT64_MIN || v > INT64_MAX)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static void put_value(hdp_buf *b, const pq_reader *r, size_t c, size_t row)
{
    const pq_column_def *d = pq_reader_column(r, c);
    if (pq_is_null(r, c, row)) {
        buf_puts(b, "null");
        return;
    }
    int64_t v = pq_get_i64(r, c, row);
    buf_putc(b, '"');
    switch (d->type) {
    case PQ_BOOLEAN:
        buf_puts(b, v ? "true" : "false");
        break;
    case PQ_DECIMAL:
        put_decimal(b, v, d->scale);
        break;
    case PQ_STRING: {
        size_t n;
        const char *s = pq_get_str(r, c, row, &n);
        b->len--; /* drop the quote: put_json_str adds its own */
        buf_put_json_str(b, s, n);
        return;
    }
    default:
        buf_put_i64(b, v);
    }
    buf_putc(b, '"');
}

static const char *type_name(const pq_column_def *d, char *tmp, size_t n)
{
    static const char *names[] = {"bool", "int32", "int64", "decimal", "timestamp", "string"};
    if (d->type == PQ_DECIMAL) {
        snprintf(tmp, n, "decimal(%d,%d)", d->precision, d->scale);
        return tmp;
    }
    return names[d->type];
}

static int cmd_read(const char *what, const char *path)
{
    hdp_err e = {{0}};
    pq_reader *r = pq_reader_open(path, &e);
    if (r == NULL)
        return die(e.msg);
    hdp_buf b = HDP_BUF_INIT;
    size_t nc = pq_reader_ncols(r);
    int rc = 0;
    char tmp[64];
    if (strcmp(what, "schema") == 0) {
        for (size_t c = 0; c < nc; c++) {
            const pq_column_def *d = pq_reader_column(r, c);
            printf("%s %s\n", d->name, type_name(d, tmp, sizeof(tmp)));
        }
    }
    for (size_t g = 0; g < pq_reader_num_row_groups(r) && strcmp(what, "stats") == 0; g++) {
        for (size_t c = 0; c < nc; c++) {
            const pq_column_def *d = pq_reader_column(r, c);
            pq_stats s;
            if (pq_reader_stats(r, g, c, &s, &e) != HDP_OK) {
                rc = die(e.msg);
                goto out;
            }
            buf_reset(&b);
            buf_printf(&b, "{\"rg\":%zu,\"col\":", g);
            buf_put_json_str(&b, d->name, strlen(d->name));
            if (!s.has_min_max) {
                buf_puts(&b, ",\"min\":null,\"max\":null");
            } else if (d->type == PQ_STRING) {
                buf_puts(&b, ",\"min\":");
                buf_put_json_str(&b, s.min_s, s.min_n);
                buf_puts(&b, ",\"max\":");
                buf_put_json_str(&b, s.max_s, s.max_n);
            } else if (d->type == PQ_DECIMAL) {
                buf_puts(&b, ",\"min\":\"");
                put_decimal(&b, s.min_i, d->scale);
                buf_puts(&b, "\",\"max\":\"");
                put_decimal(&b, s.max_i, d->scale);
                buf_putc(&b, '"');
            } else {
                buf_printf(&b, ",\"min\":\"%" PRId64 "\",\"max\":\"%" PRId64 "\"", s.min_i,
                           s.max_i);
            }
            if (s.has_null_count)
                buf_printf(&b, ",\"nulls\":%" PRId64 "}\n", s.null_count);
            else
                buf_puts(&b, ",\"nulls\":null}\n");
            fwrite(b.data, 1, b.len, stdout);
        }
    }
    for (size_t g = 0; g < pq_reader_num_row_groups(r) && strcmp(what, "dump") == 0; g++) {
        size_t rows;
        if (pq_reader_load(r, g, &rows, &e) != HDP_OK) {
            rc = die(e.msg);
            goto out;
        }
        for (size_t row = 0; row < rows; row++) {
            buf_reset(&b);
            buf_putc(&b, '{');
            for (size_t c = 0; c < nc; c++) {
                const char *name = pq_reader_column(r, c)->name;
                if (c)
                    buf_putc(&b, ',');
                buf_put_json_str(&b, name, strlen(name));
                buf_putc(&b, ':');
                put_value(&b, r, c, row);
            }
            buf_puts(&b, "}\n");
            fwrite(b.data, 1, b.len, stdout);
        }
    }
out:
    buf_free(&b);
    pq_reader_free(r);
    return rc;
}

/* Splits line at tabs in place, unescaping; a raw field of exactly \N is NULL. Returns the
 * field count. */
static size_t split(char *line, char **f, size_t max, int *isnull)
{
    size_t n = 0;
    char *out = line, *start = line;
    int null = line[0] == '\\' && line[1] == 'N' && (line[2] == '\t' || line[2] == '\0');
    for (char *p = line;; p++) {
        if (*p == '\t' || *p == '\0') {
            int end = *p == '\0';
            *out = '\0';
            if (n < max) {
                isnull[n] = null;
                f[n++] = start;
            }
            if (end)
                break;
            out = start = p + 1;
            null = p[1] == '\\' && p[2] == 'N' && (p[3] == '\t' || p[3] == '\0');
            continue;
        }
        if (*p == '\\' && p[1]) {
            p++;
            *out++ = *p == 't' ? '\t' : *p == 'n' ? '\n' : *p;
        } else {
            *out++ = *p;
        }
    }
    return n;
}

static int cmd_write(int argc, char **argv)
{
    if (argc < 5)
        return die("usage: write FILE CODEC ROWS [DICT_MAX]");
    pq_writer_opts o = pq_writer_opts_default();
    o.codec = strcmp(argv[3], "none") == 0     ? PQ_CODEC_NONE
              : strcmp(argv[3], "snappy") == 0 ? PQ_CODEC_SNAPPY
                                               : PQ_CODEC_ZSTD;
    o.row_group_rows = strtoul(argv[4], NULL, 10);
    if (argc > 5)
        o.dict_max_bytes = strtoul(argv[5], NULL, 10);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    pq_column_def cols[64];
    char *f[64];
    int isnull[64];
    hdp_err e = {{0}};
    len = getline(&line, &cap, stdin);
    if (len <= 0) {
        free(line);
        return die("no header line");
    }
    if (line[len - 1] == '\n')
        line[len - 1] = '\0';
    char *hdr = xstrdup(line);
    size_t nc = split(hdr, f, 64, isnull);
    for (size_t i = 0; i < nc; i++) {
        char *colon = strrchr(f[i], ':');
        if (colon == NULL)
            return die("header needs name:type");
        *colon = '\0';
        const char *t = colon + 1;
        cols[i] = (pq_column_def){f[i], PQ_STRING, 0, 0};
        if (strcmp(t, "bool") == 0)
            cols[i].type = PQ_BOOLEAN;
        else if (strcmp(t, "int32") == 0)
            cols[i].type = PQ_INT32;
        else if (strcmp(t, "int64") == 0)
            cols[i].type = PQ_INT64;
        else if (strcmp(t, "timestamp") == 0)
            cols[i].type = PQ_TIMESTAMP_US;
        else if (sscanf(t, "decimal(%d,%d)", &cols[i].precision, &cols[i].scale) == 2)
            cols[i].type = PQ_DECIMAL;
        else if (strcmp(t, "string") != 0)
            return die("unknown type");
    }
    pq_writer *w = pq_writer_open(argv[2], cols, nc, &o, &e);
    if (w == NULL)
        return die(e.msg);
    int rc = 0;
    while (1) {
        len = getline(&line, &cap, stdin);
        if (len <= 0)
            break;
        if (line[len - 1] == '\n')
            line[len - 1] = '\0';
        size_t n = split(line, f, 64, isnull);
        for (size_t c = 0; c < n && c < nc && rc == 0; c++) {
            int64_t v;
            if (isnull[c]) {
                rc = pq_write_null(w, c, &e);
                continue;
            }
            switch (cols[c].type) {
            case PQ_STRING:
                rc = pq_write_str(w, c, f[c], strlen(f[c]), &e);
                break;
            case PQ_BOOLEAN:
                rc = pq_write_bool(w, c, strcmp(f[c], "true") == 0, &e);
                break;
            case PQ_INT32:
                rc = pq_write_i32(w, c, (int32_t)strtol(f[c], NULL, 10), &e);
                break;
            case PQ_DECIMAL:
                if (parse_decimal(f[c], cols[c].scale, &v) != 0)
                    rc = hdp_fail(&e, "bad decimal %s", f[c]);
                else
                    rc = pq_write_i64(w, c, v, &e);
                break;
            default:
                rc = pq_write_i64(w, c, strtoll(f[c], NULL, 10), &e);
            }
        }
        if (rc == 0)
            rc = pq_end_row(w, &e);
        if (rc != 0)
            break;
    }
    free(line);
    free(hdr);
    if (rc != 0) {
        pq_writer_free(w);
        return die(e.msg);
    }
    if (pq_writer_close(w, &e) != HDP_OK)
        return die(e.msg);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "write") == 0)
        return cmd_write(argc, argv);
    if (argc == 3 && (strcmp(argv[1], "dump") == 0 || strcmp(argv[1], "schema") == 0 ||
                      strcmp(argv[1], "stats") == 0))
        return cmd_read(argv[1], argv[2]);
    return die("usage: pqtool write|dump|schema|stats FILE ...");
}
