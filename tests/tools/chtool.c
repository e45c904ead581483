/* chtool — a small driver of the ClickHouse client (src/io/clickhouse.h) for integration tests.
 *
 *   chtool describe | version | exec SQL | query SQL | script FILE
 *          | stream SQL            ch_query_stream + ch_lines: "lines L sum S bytes B chunks C
 *                                  maxrss_kb R" (S: sum of the first field of each line)
 *          | insert TABLE tsv|rowbinary N       streamed insert of N generated rows
 *          | insert-buf TABLE tsv|rowbinary N   the same body, whole in memory
 *          | insert-stdin SQL      streamed insert of stdin
 *          | check TABLE N         reads TABLE back (TSV, streamed) and compares every row with
 *                                  the generator: "ok N maxrss_kb R"
 *
 * Generated rows (table: id UInt64, s String, n Nullable(String), d Decimal(12,2)): row i has
 * s = SPECIAL[i % 10] + str(i), n = NULL when i % 7 == 0 else "n" + str(3 i), d = cents
 * ((i * 7919) % 10000000 - 5000000) / 100. tests/integration/test_clickhouse.py computes the
 * same rows.
 *
 * The URL comes from HDP_CLICKHOUSE_URL through the real configuration loader. Knobs from the
 * environment: CHTOOL_QUERY_ID, CHTOOL_DATABASE, CHTOOL_SETTINGS (k=v,k=v), CHTOOL_TIMEOUT_MS,
 * CHTOOL_IDEMPOTENT, CHTOOL_REPEAT (query: run it N times), CHTOOL_MAX_TRIES, CHTOOL_BACKOFF_MS,
 * CHTOOL_CONNECT_TIMEOUT_MS, CHTOOL_STOP_AFTER (stream: the callback fails after that many lines),
 * CHTOOL_FAIL_AFTER (insert: the producer fails after that many rows). Exit 0 ok, 1 HDP_ERR, 3
 * HDP_RETRY (one line on stderr), 2 usage. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "io/clickhouse.h"

#define MAX_SETTINGS 16

static long env_long(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : 0;
}

/* Peak RSS of this process (VmHWM). Not getrusage's ru_maxrss: Linux carries the parent's
 * peak over fork and execve into it, so a child of a big pytest would report the parent's. */
static long maxrss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* ------------------------------------------------------------------ generated rows */

typedef struct special {
    const char *p;
    size_t n;
} special;

#define SP(s)                                                                                      \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }
static const special specials[10] = {
    SP(""),         SP("tab\there"),      SP("new\nline"), SP("back\\slash"), SP("quote'\""),
    SP("utf8 é€😀"), SP("cr\r bs\b ff\f"), SP("\\N"),       SP("nul\0byte"),   SP("plain"),
};

typedef struct row {
    uint64_t id;
    char s[64];
    size_t slen;
    int null_n;
    char n[32];
    int64_t cents;
} row;

static void gen_row(uint64_t i, row *r)
{
    const special *sp = &specials[i % 10];
    r->id = i;
    memcpy(r->s, sp->p, sp->n);
    r->slen = sp->n + (size_t)snprintf(r->s + sp->n, sizeof(r->s) - sp->n, "%" PRIu64, i);
    r->null_n = i % 7 == 0;
    snprintf(r->n, sizeof(r->n), "n%" PRIu64, i * 3);
    r->cents = (int64_t)((i * 7919) % 10000000) - 5000000;
}

static void put_cents(hdp_buf *b, int64_t c)
{
    uint64_t a = c < 0 ? (uint64_t)(-c) : (uint64_t)c;
    buf_printf(b, "%s%" PRIu64 ".%02u", c < 0 ? "-" : "", a / 100, (unsigned)(a % 100));
}

static void put_tsv(hdp_buf *b, const row *r)
{
    buf_printf(b, "%" PRIu64 "\t", r->id);
    ch_tsv_escape(b, r->s, r->slen);
    buf_putc(b, '\t');
    if (r->null_n)
        ch_tsv_null(b);
    else
        ch_tsv_escape(b, r->n, strlen(r->n));
    buf_putc(b, '\t');
    put_cents(b, r->cents);
    buf_putc(b, '\n');
}

static void put_le(hdp_buf *b, uint64_t v, int bytes)
{
    unsigned char x[8];
    for (int k = 0; k < bytes; k++)
        x[k] = (unsigned char)(v >> (8 * k));
    buf_append(b, x, (size_t)bytes);
}

static void put_rb_string(hdp_buf *b, const char *p, size_t n)
{
    buf_put_uvarint(b, n);
    buf_append(b, p, n);
}

static void put_rowbinary(hdp_buf *b, const row *r)
{
    put_le(b, r->id, 8);
    put_rb_string(b, r->s, r->slen);
    buf_putc(b, r->null_n ? 1 : 0);
    if (!r->null_n)
        put_rb_string(b, r->n, strlen(r->n));
    put_le(b, (uint64_t)r->cents, 8); /* Decimal(12,2) is a Decimal64: cents as Int64 */
}

typedef struct gen {
    int rowbinary;
    uint64_t next, total, fail_after;
    uint64_t bytes;
    size_t max_piece;
} gen;

/* ch_body_fn: about 64 KiB of rows per call. */
static int gen_body(void *ctx, hdp_buf *out, int *done, hdp_err *e)
{
    gen *g = ctx;
    row r;
    while (out->len < 65536 && g->next < g->total) {
        if (g->fail_after && g->next == g->fail_after)
            return hdp_fail(e, "producer failed on purpose after %" PRIu64 " rows", g->next);
        gen_row(g->next++, &r);
        if (g->rowbinary)
            put_rowbinary(out, &r);
        else
            put_tsv(out, &r);
    }
    *done = g->next >= g->total;
    g->bytes += out->len;
    if (out->len > g->max_piece)
        g->max_piece = out->len;
    return HDP_OK;
}

/* ------------------------------------------------------------------ stdin producer */

static int stdin_body(void *ctx, hdp_buf *out, int *done, hdp_err *e)
{
    uint64_t *bytes = ctx;
    char chunk[65536];
    size_t n = fread(chunk, 1, sizeof(chunk), stdin);
    buf_append(out, chunk, n);
    *bytes += n;
    if (n < sizeof(chunk)) {
        if (ferror(stdin))
            return hdp_fail(e, "reading stdin failed");
        *done = feof(stdin) != 0;
    }
    return HDP_OK;
}

/* ------------------------------------------------------------------ streamed lines */

typedef struct counter {
    uint64_t lines, sum, bytes, chunks, stop_after;
    ch_lines lines_state;
} counter;

static int count_line(void *ctx, const char *line, size_t len, hdp_err *e)
{
    counter *c = ctx;
    if (c->stop_after && c->lines >= c->stop_after)
        return hdp_fail(e, "stopped by the callback after %" PRIu64 " lines", c->lines);
    c->lines++;
    c->sum += strtoull(line, NULL, 10);
    (void)len;
    return HDP_OK;
}

static int count_chunk(void *ctx, const char *p, size_t n, hdp_err *e)
{
    counter *c = ctx;
    c->bytes += n;
    c->chunks++;
    return ch_lines_feed(&c->lines_state, p, n, e);
}

typedef struct checker {
    uint64_t next;
    hdp_buf s, n;
} checker;

/* Compares one read-back TSV line with the generated row. */
static int check_line(void *ctx, const char *line, size_t len, hdp_err *e)
{
    checker *k = ctx;
    ch_field f[5];
    int nf = ch_tsv_fields(line, len, f, 5);
    if (nf != 4)
        return hdp_fail(e, "row %" PRIu64 ": %d fields", k->next, nf);
    row r;
    gen_row(k->next, &r);
    buf_reset(&k->s);
    buf_reset(&k->n);
    hdp_buf d = HDP_BUF_INIT;
    put_cents(&d, r.cents);
    int bad = strtoull(f[0].p, NULL, 10) != r.id || ch_tsv_unescape(&k->s, f[1].p, f[1].n) ||
              k->s.len != r.slen || memcmp(k->s.data ? k->s.data : "", r.s, r.slen) != 0 ||
              ch_tsv_is_null(f[2].p, f[2].n) != r.null_n ||
              (!r.null_n && (ch_tsv_unescape(&k->n, f[2].p, f[2].n) || strcmp(k->n.data, r.n))) ||
              f[3].n != d.len || memcmp(f[3].p, d.data, d.len) != 0;
    buf_free(&d);
    if (bad)
        return hdp_fail(e, "row %" PRIu64 " differs: %.*s", k->next, (int)(len < 200 ? len : 200),
                        line);
    k->next++;
    return HDP_OK;
}

static int check_chunk(void *ctx, const char *p, size_t n, hdp_err *e)
{
    return ch_lines_feed(ctx, p, n, e);
}

/* ------------------------------------------------------------------ commands */

static int read_all(FILE *f, hdp_buf *out)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(out, chunk, n);
    return ferror(f) ? -1 : 0;
}

static int run(ch_client *c, const ch_call *call, int argc, char **argv, hdp_err *e)
{
    const char *cmd = argv[1];
    if (strcmp(cmd, "describe") == 0) {
        printf("%s\n", ch_describe(c));
        return HDP_OK;
    }
    if (strcmp(cmd, "version") == 0) {
        char v[64];
        int rc = ch_server_version(c, v, sizeof(v), e);
        if (rc == HDP_OK)
            printf("%s\n", v);
        return rc;
    }
    if (strcmp(cmd, "exec") == 0 && argc == 3)
        return ch_exec(c, argv[2], call, e);
    if (strcmp(cmd, "query") == 0 && argc == 3) {
        /* CHTOOL_REPEAT=N: N times on this client, query ids QUERY_ID-1 .. QUERY_ID-N */
        long repeat = env_long("CHTOOL_REPEAT");
        int rc = HDP_OK;
        for (long i = 0; rc == HDP_OK && i < (repeat > 0 ? repeat : 1); i++) {
            char qid[160];
            ch_call one = *call;
            if (repeat > 0 && call->query_id) {
                snprintf(qid, sizeof(qid), "%s-%ld", call->query_id, i + 1);
                one.query_id = qid;
            }
            hdp_buf b = HDP_BUF_INIT;
            rc = ch_query(c, argv[2], &one, &b, e);
            if (rc == HDP_OK && b.len)
                fwrite(b.data, 1, b.len, stdout);
            buf_free(&b);
        }
        return rc;
    }
    if (strcmp(cmd, "script") == 0 && argc == 3) {
        FILE *f = fopen(argv[2], "r");
        if (f == NULL)
            return hdp_fail(e, "cannot open %s", argv[2]);
        hdp_buf b = HDP_BUF_INIT;
        read_all(f, &b);
        fclose(f);
        int count = 0;
        int rc = ch_exec_script(c, b.data ? b.data : "", call, &count, e);
        printf("statements %d\n", count);
        buf_free(&b);
        return rc;
    }
    if (strcmp(cmd, "stream") == 0 && argc == 3) {
        counter k = {.stop_after = (uint64_t)env_long("CHTOOL_STOP_AFTER")};
        ch_lines_init(&k.lines_state, count_line, &k);
        int rc = ch_query_stream(c, argv[2], call, count_chunk, &k, e);
        if (rc == HDP_OK)
            rc = ch_lines_finish(&k.lines_state, e);
        if (rc == HDP_OK)
            printf("lines %" PRIu64 " sum %" PRIu64 " bytes %" PRIu64 " chunks %" PRIu64
                   " maxrss_kb %ld\n",
                   k.lines, k.sum, k.bytes, k.chunks, maxrss_kb());
        ch_lines_free(&k.lines_state);
        return rc;
    }
    if ((strcmp(cmd, "insert") == 0 || strcmp(cmd, "insert-buf") == 0) && argc == 5) {
        gen g = {.rowbinary = strcmp(argv[3], "rowbinary") == 0,
                 .total = strtoull(argv[4], NULL, 10),
                 .fail_after = (uint64_t)env_long("CHTOOL_FAIL_AFTER")};
        if (!g.rowbinary && strcmp(argv[3], "tsv") != 0)
            return 2;
        hdp_buf sql = HDP_BUF_INIT;
        buf_printf(&sql, "INSERT INTO %s FORMAT %s", argv[2],
                   g.rowbinary ? "RowBinary" : "TabSeparated");
        int rc;
        if (strcmp(cmd, "insert") == 0) {
            rc = ch_insert(c, sql.data, call, gen_body, &g, e);
        } else {
            hdp_buf body = HDP_BUF_INIT, piece = HDP_BUF_INIT;
            int done = 0;
            rc = HDP_OK;
            while (!done && rc == HDP_OK) {
                buf_reset(&piece);
                rc = gen_body(&g, &piece, &done, e);
                buf_append(&body, piece.data, piece.len);
            }
            buf_free(&piece);
            g.bytes = body.len;
            if (rc == HDP_OK)
                rc = ch_insert_buf(c, sql.data, body.data, body.len, call, e);
            buf_free(&body);
        }
        if (rc == HDP_OK)
            printf("rows %" PRIu64 " bytes %" PRIu64 " max_piece %zu maxrss_kb %ld\n", g.next,
                   g.bytes, g.max_piece, maxrss_kb());
        buf_free(&sql);
        return rc;
    }
    if (strcmp(cmd, "insert-stdin") == 0 && argc == 3) {
        uint64_t bytes = 0;
        int rc = ch_insert(c, argv[2], call, stdin_body, &bytes, e);
        if (rc == HDP_OK)
            printf("bytes %" PRIu64 " maxrss_kb %ld\n", bytes, maxrss_kb());
        return rc;
    }
    if (strcmp(cmd, "check") == 0 && argc == 4) {
        checker k = {0};
        ch_lines l;
        ch_lines_init(&l, check_line, &k);
        hdp_buf sql = HDP_BUF_INIT;
        buf_printf(&sql, "SELECT id, s, n, d FROM %s ORDER BY id FORMAT TabSeparated", argv[2]);
        int rc = ch_query_stream(c, sql.data, call, check_chunk, &l, e);
        if (rc == HDP_OK)
            rc = ch_lines_finish(&l, e);
        uint64_t want = strtoull(argv[3], NULL, 10);
        if (rc == HDP_OK && k.next != want)
            rc = hdp_fail(e, "read back %" PRIu64 " rows, expected %" PRIu64, k.next, want);
        if (rc == HDP_OK)
            printf("ok %" PRIu64 " maxrss_kb %ld\n", k.next, maxrss_kb());
        ch_lines_free(&l);
        buf_free(&k.s);
        buf_free(&k.n);
        buf_free(&sql);
        return rc;
    }
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: chtool describe|version|exec SQL|query SQL|script FILE|stream SQL|"
                        "insert TABLE FMT N|insert-buf TABLE FMT N|insert-stdin SQL|check TABLE "
                        "N\n");
        return 2;
    }
    hdp_err e = {{0}};
    hdp_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    if (config_load(&cfg, &e) != HDP_OK) {
        fprintf(stderr, "chtool: %s\n", e.msg);
        config_free(&cfg);
        return 2;
    }
    ch_limits lim = {.connect_timeout_ms = env_long("CHTOOL_CONNECT_TIMEOUT_MS"),
                     .timeout_ms = env_long("CHTOOL_TIMEOUT_MS"),
                     .max_tries = (int)env_long("CHTOOL_MAX_TRIES"),
                     .backoff_ms = env_long("CHTOOL_BACKOFF_MS")};
    ch_setting settings[MAX_SETTINGS + 1];
    memset(settings, 0, sizeof(settings));
    char *spec = getenv("CHTOOL_SETTINGS") ? strdup(getenv("CHTOOL_SETTINGS")) : NULL;
    int ns = 0;
    for (char *save = NULL, *t = spec ? strtok_r(spec, ",", &save) : NULL; t && ns < MAX_SETTINGS;
         t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        settings[ns].name = t;
        settings[ns].value = eq + 1;
        ns++;
    }
    ch_call call = {.query_id = getenv("CHTOOL_QUERY_ID"),
                    .database = getenv("CHTOOL_DATABASE"),
                    .settings = ns ? settings : NULL,
                    .idempotent = env_long("CHTOOL_IDEMPOTENT") != 0};
    ch_client *c = cfg.clickhouse_url && *cfg.clickhouse_url
                       ? ch_open(cfg.clickhouse_url, &lim, &e)
                       : (hdp_fail(&e, "HDP_CLICKHOUSE_URL is empty"), NULL);
    int rc = c ? run(c, &call, argc, argv, &e) : HDP_ERR;
    int code = 0;
    if (rc == 2) {
        fprintf(stderr, "chtool: bad command or arguments\n");
        code = 2;
    } else if (rc != HDP_OK) {
        fprintf(stderr, "chtool: %s%s [code %d]\n", rc == HDP_RETRY ? "(retry) " : "", e.msg,
                ch_last_code(c));
        code = rc == HDP_RETRY ? 3 : 1;
    }
    ch_close(c);
    free(spec);
    config_free(&cfg);
    return code;
}
