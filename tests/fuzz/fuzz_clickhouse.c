/* fuzz_clickhouse — the text side of the ClickHouse client (src/io/clickhouse_text.c):
 * answers read as TabSeparated lines across chunk boundaries, their fields, the exception
 * text of an error answer, and SQL scripts split into statements.
 *
 * The input is one answer body; its first byte picks where the chunks are cut. Invariants:
 * the lines delivered, each followed by '\n', are the body exactly (finish fails only when
 * the body does not end in '\n'); the fields of a line span it with one tab between each;
 * a field that unescapes escapes and unescapes back to the same value; an exception message
 * is NUL-terminated inside its buffer and holds no newline; every statement of a script lies
 * inside it, starts on a line no earlier than the one before and is non-empty. */
#include "fuzz.h"

#include "core/buf.h"
#include "core/err.h"
#include "io/clickhouse_text.h"

#define MAX_FIELDS 64

typedef struct seen {
    hdp_buf joined; /* every line delivered, each with its '\n' */
} seen;

static void check_fields(const char *line, size_t len)
{
    ch_field f[MAX_FIELDS];
    int n = ch_tsv_fields(line, len, f, MAX_FIELDS);
    if (n < 0)
        return; /* more fields than asked for */
    FUZZ_CHECK(n >= 1);
    size_t covered = 0;
    for (int i = 0; i < n; i++) {
        FUZZ_CHECK(f[i].p >= line && f[i].p + f[i].n <= line + len);
        FUZZ_CHECK(memchr(f[i].p, '\t', f[i].n) == NULL);
        covered += f[i].n;
        hdp_buf v = HDP_BUF_INIT, esc = HDP_BUF_INIT, back = HDP_BUF_INIT;
        if (ch_tsv_unescape(&v, f[i].p, f[i].n) == 0) {
            ch_tsv_escape(&esc, v.data ? v.data : "", v.len);
            FUZZ_CHECK(memchr(esc.data ? esc.data : "", '\t', esc.len) == NULL);
            FUZZ_CHECK(memchr(esc.data ? esc.data : "", '\n', esc.len) == NULL);
            FUZZ_CHECK(ch_tsv_unescape(&back, esc.data ? esc.data : "", esc.len) == 0);
            FUZZ_CHECK(back.len == v.len && (v.len == 0 || memcmp(back.data, v.data, v.len) == 0));
        }
        buf_free(&v);
        buf_free(&esc);
        buf_free(&back);
    }
    FUZZ_CHECK(covered + (size_t)(n - 1) == len);
}

static int on_line(void *ctx, const char *line, size_t len, hdp_err *e)
{
    (void)e;
    seen *s = ctx;
    FUZZ_CHECK(memchr(line, '\n', len) == NULL);
    buf_append(&s->joined, line, len);
    buf_putc(&s->joined, '\n');
    check_fields(line, len);
    return 0;
}

typedef struct stmts {
    const char *script;
    size_t len;
    int last_line;
} stmts;

static int on_stmt(void *ctx, const char *sql, size_t len, int lineno, hdp_err *e)
{
    (void)e;
    stmts *s = ctx;
    FUZZ_CHECK(len > 0);
    FUZZ_CHECK(sql >= s->script && sql + len <= s->script + s->len);
    FUZZ_CHECK(lineno >= 1 && lineno >= s->last_line);
    s->last_line = lineno;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned cut = data[0];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;

    /* lines, in chunks of 1 + cut bytes (a cut of 255: the whole body at once) */
    seen s = {HDP_BUF_INIT};
    ch_lines l;
    ch_lines_init(&l, on_line, &s);
    hdp_err e = {0};
    size_t step = cut == 255 ? (len ? len : 1) : 1 + cut;
    int rc = HDP_OK;
    for (size_t off = 0; off < len && rc == HDP_OK; off += step)
        rc = ch_lines_feed(&l, body + off, len - off < step ? len - off : step, &e);
    FUZZ_CHECK(rc == HDP_OK);
    rc = ch_lines_finish(&l, &e);
    FUZZ_CHECK((rc == HDP_OK) == (len == 0 || body[len - 1] == '\n'));
    if (rc == HDP_OK) {
        FUZZ_CHECK(s.joined.len == len);
        FUZZ_CHECK(len == 0 || memcmp(s.joined.data, body, len) == 0);
    }
    ch_lines_free(&l);
    buf_free(&s.joined);

    /* an error answer */
    int code = -1;
    char msg[160];
    memset(msg, 'x', sizeof(msg));
    int is_exc = ch_exception_parse(body, len, &code, msg, sizeof(msg));
    FUZZ_CHECK(is_exc == 0 || is_exc == 1);
    FUZZ_CHECK(memchr(msg, '\0', sizeof(msg)) != NULL);
    FUZZ_CHECK(strchr(msg, '\n') == NULL);
    (void)ch_code_is_auth(code);
    (void)ch_code_is_transient(code);

    /* a script (the part before a NUL) */
    char *script = fuzz_strndup((const uint8_t *)body, len);
    stmts st = {script, strlen(script), 0};
    (void)ch_split_statements(script, on_stmt, &st, &e);
    free(script);
    return 0;
}
