/* test_config.c — config_load from the environment and a .env file, validation messages
 * that name the variable, DSN redaction, and the address parsers. Runs in a private temporary
 * folder with every hdp variable unset, so the caller's environment and ./.env do not leak. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/config.h"
#include "core/url.h"

static const char *const names[] = {
    "HDP_SOURCE_DSN",      "HDP_DWH_DSN",          "HDP_REDIS_URL",    "HDP_CLICKHOUSE_URL",
    "HDP_LAKE_URL",        "HDP_S3_ENDPOINT",      "HDP_S3_REGION",    "HDP_S3_ACCESS_KEY",
    "HDP_S3_SECRET_KEY",   "HDP_HTTP_ADDR",        "HDP_API_TOKEN",    "HDP_BATCH_INTERVAL",
    "HDP_SEGMENT_SECONDS", "TELEGRAM_TOKEN",       "TELEGRAM_CHAT_ID", "HDP_TELEGRAM_API",
    "HDP_LOG_LEVEL",       "HDP_VAR_DIR",          "HDP_HTTP_THREADS", "HDP_SPEED_BATCH_MS",
    "HDP_SERVE_CACHE_MS",  "HDP_SPEED_DROP_GRACE", "HDP_GC_RETENTION", "HDP_GC_KEEP_MANIFESTS",
    "HDP_ENV_FILE"};

static char tmpdir[] = "/tmp/hdp-test-config-XXXXXX";

static int clean_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        unsetenv(names[i]);
    unlink(".env");
    unlink("custom.env");
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Loads with the current environment; expects failure naming `var` and containing `needle`. */
static void expect_load_error(const char *var, const char *needle)
{
    hdp_config c;
    hdp_err e = {{0}};
    assert_int_equal(config_load(&c, &e), HDP_ERR);
    config_free(&c);
    if (strstr(e.msg, var) == NULL || strstr(e.msg, needle) == NULL)
        fail_msg("error '%s' should name %s and say '%s'", e.msg, var, needle);
}

static void expect_bad(const char *var, const char *value, const char *needle)
{
    setenv(var, value, 1);
    expect_load_error(var, needle);
    unsetenv(var);
}

static void test_defaults(void **state)
{
    (void)state;
    hdp_config c;
    hdp_err e = {{0}};
    assert_int_equal(config_load(&c, &e), HDP_OK);
    assert_string_equal(c.source_dsn, "host=127.0.0.1 port=55432 dbname=shop user=hdp");
    assert_string_equal(c.dwh_dsn, "host=127.0.0.1 port=55432 dbname=dwh user=hdp");
    char want[4200];
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(want, sizeof(want), "file://%s/var/lake", cwd);
    assert_string_equal(c.lake_url, want); /* absolute: follows HDP_VAR_DIR, not the cwd later */
    assert_string_equal(c.api_token, "");
    assert_int_equal(c.batch_interval, 120);
    assert_int_equal(c.segment_seconds, 60);
    assert_int_equal(c.http_threads, 2);
    assert_string_equal(c.redis.host, "127.0.0.1");
    assert_int_equal(c.redis.port, 56379);
    assert_int_equal(c.redis.db, 0);
    assert_string_equal(c.http_host, "127.0.0.1");
    assert_int_equal(c.http_port, 8080);
    config_free(&c);
    config_free(&c); /* fields are NULL after a free: a second free is harmless */
}

static void test_environment(void **state)
{
    (void)state;
    setenv("HDP_SEGMENT_SECONDS", "5", 1);
    setenv("HDP_LAKE_URL", "s3://bucket/raw", 1);
    setenv("HDP_HTTP_ADDR", "0.0.0.0:9090", 1);
    setenv("HDP_REDIS_URL", "redis://:pw@cache:6380/3", 1);
    hdp_config c;
    hdp_err e = {{0}};
    assert_int_equal(config_load(&c, &e), HDP_OK);
    assert_int_equal(c.segment_seconds, 5);
    assert_string_equal(c.lake_url, "s3://bucket/raw");
    assert_string_equal(c.http_host, "0.0.0.0");
    assert_int_equal(c.http_port, 9090);
    assert_string_equal(c.redis.host, "cache");
    assert_int_equal(c.redis.port, 6380);
    assert_int_equal(c.redis.db, 3);
    assert_string_equal(c.redis.password, "pw");
    config_free(&c);
}

/* hdp config prints the ClickHouse URL with its password masked; an empty URL is allowed. */
static void test_clickhouse_url_masked(void **state)
{
    (void)state;
    setenv("HDP_CLICKHOUSE_URL", "http://hdp:Sup3r%2Fsecret@ch:8123/?database=marts", 1);
    hdp_config c;
    hdp_err e = {{0}};
    assert_int_equal(config_load(&c, &e), HDP_OK);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_print(&c, f);
    fclose(f);
    assert_null(strstr(text, "Sup3r"));
    assert_non_null(strstr(text, "HDP_CLICKHOUSE_URL=http://hdp:***@ch:8123/?database=marts\n"));
    free(text);
    config_free(&c);
    setenv("HDP_CLICKHOUSE_URL", "", 1);
    assert_int_equal(config_load(&c, &e), HDP_OK);
    assert_string_equal(c.clickhouse_url, "");
    config_free(&c);
    unsetenv("HDP_CLICKHOUSE_URL");
}

static void test_bad_values(void **state)
{
    (void)state;
    expect_bad("HDP_BATCH_INTERVAL", "abc", "not an integer");
    expect_bad("HDP_BATCH_INTERVAL", "", "not an integer");
    expect_bad("HDP_BATCH_INTERVAL", "12x", "not an integer");
    expect_bad("HDP_BATCH_INTERVAL", "99999999999999999999", "not an integer");
    expect_bad("HDP_SEGMENT_SECONDS", "0", "out of range 1..3600");
    expect_bad("HDP_SEGMENT_SECONDS", "3601", "out of range");
    expect_bad("HDP_HTTP_THREADS", "-1", "out of range");
    expect_bad("HDP_REDIS_URL", "http://127.0.0.1:6379", "not a redis://");
    expect_bad("HDP_REDIS_URL", "redis://host:notaport", "not a redis://");
    expect_bad("HDP_REDIS_URL", "redis://host/x", "not a redis://");
    expect_bad("HDP_LAKE_URL", "/var/lake", "must start with file:// or s3://");
    expect_bad("HDP_LAKE_URL", "s3://", "names no bucket");
    expect_bad("HDP_LAKE_URL", "s3:///prefix", "names no bucket");
    expect_bad("HDP_LAKE_URL", "file://", "names no folder");
    expect_bad("HDP_HTTP_ADDR", "8080", "not host:port");
    expect_bad("HDP_HTTP_ADDR", ":8080", "not host:port");
    expect_bad("HDP_HTTP_ADDR", "localhost:0", "not host:port");
    expect_bad("HDP_HTTP_ADDR", "localhost:65536", "not host:port");
    expect_bad("HDP_CLICKHOUSE_URL", "ftp://x", "not an http://");
    expect_bad("HDP_CLICKHOUSE_URL", "http://hdp:pw@h:1/marts", "a path is not supported");
    expect_bad("HDP_CLICKHOUSE_URL", "http://h:1/?database=x-y", "database must be");
    expect_bad("HDP_LOG_LEVEL", "loud", "not one of");
    expect_bad("HDP_SOURCE_DSN", "", "must not be empty");
}

static void test_env_file(void **state)
{
    (void)state;
    write_file("custom.env", "# a comment\n"
                             "\n"
                             "   # an indented comment\n"
                             "export HDP_BATCH_INTERVAL=42\n"
                             "HDP_S3_REGION = \"eu-west-1\"\n"
                             "HDP_API_TOKEN='tok en'\n"
                             "HDP_VAR_DIR=/srv/hdp   \n"
                             "TELEGRAM_CHAT_ID=\"-100123\"  \n"
                             "HDP_SEGMENT_SECONDS=10\r\n"
                             "HDP_HTTP_THREADS=3\n"
                             "HDP_HTTP_THREADS=4\n");
    setenv("HDP_ENV_FILE", "custom.env", 1);
    setenv("HDP_SEGMENT_SECONDS", "7", 1); /* the environment wins */
    hdp_config c;
    hdp_err e = {{0}};
    if (config_load(&c, &e) != HDP_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(c.batch_interval, 42);
    assert_string_equal(c.s3_region, "eu-west-1");
    assert_string_equal(c.api_token, "tok en");
    assert_string_equal(c.var_dir, "/srv/hdp");
    assert_string_equal(c.telegram_chat_id, "-100123"); /* quotes go despite trailing blanks */
    assert_int_equal(c.segment_seconds, 7);
    assert_int_equal(c.http_threads, 4); /* the last line wins */
    config_free(&c);

    /* A bad value in the file names the variable too. */
    write_file("custom.env", "HDP_BATCH_INTERVAL=soon\n");
    expect_load_error("HDP_BATCH_INTERVAL", "not an integer");
    write_file("custom.env", "HDP_BATCH_INTERVAL\n");
    expect_load_error("custom.env:1", "expected KEY=VALUE");

    /* A line longer than the reader's 4095 bytes is an error: it used to be cut, and the
     * rest read as a line of its own (here a silent HDP_S3_REGION=x). */
    char longline[6000];
    int n = snprintf(longline, sizeof(longline), "HDP_API_TOKEN=");
    memset(longline + n, 'a', 4200);
    snprintf(longline + n + 4200, sizeof(longline) - (size_t)n - 4200, "HDP_S3_REGION=x\n");
    write_file("custom.env", longline);
    expect_load_error("custom.env:1", "longer than");
    /* the last line may end without a newline */
    write_file("custom.env", "HDP_S3_REGION=eu-north-1");
    if (config_load(&c, &e) != HDP_OK)
        fail_msg("%s", e.msg);
    assert_string_equal(c.s3_region, "eu-north-1");
    config_free(&c);
}

static void test_default_env_file(void **state)
{
    (void)state;
    /* Without HDP_ENV_FILE, ./.env is read when present and skipped when absent. */
    hdp_config c;
    hdp_err e = {{0}};
    assert_int_equal(config_load(&c, &e), HDP_OK);
    assert_int_equal(c.batch_interval, 120);
    config_free(&c);
    write_file(".env", "HDP_BATCH_INTERVAL=11\n");
    assert_int_equal(config_load(&c, &e), HDP_OK);
    assert_int_equal(c.batch_interval, 11);
    config_free(&c);
}

static void test_missing_env_file(void **state)
{
    (void)state;
    setenv("HDP_ENV_FILE", "does-not-exist.env", 1);
    expect_load_error("HDP_ENV_FILE", "does-not-exist.env");
}

static void expect_redacted(const char *dsn, const char *want)
{
    char out[256];
    config_redact_dsn(dsn, out, sizeof(out));
    assert_string_equal(out, want);
}

static void test_redact(void **state)
{
    (void)state;
    expect_redacted("host=db password=s3cret user=hdp", "host=db password=*** user=hdp");
    expect_redacted("host=db password='a b\\' c' user=hdp", "host=db password=*** user=hdp");
    expect_redacted("password=x", "password=***");
    expect_redacted("host=db password = s3cret", "host=db password = ***");
    expect_redacted("host=db sslpassword=k password=s3cret",
                    "host=db sslpassword=*** password=***");
    expect_redacted("postgresql://hdp:s3cret@db:5432/shop", "postgresql://hdp:***@db:5432/shop");
    expect_redacted("postgres://hdp:s3cret@db/shop?password=x&sslmode=require",
                    "postgres://hdp:***@db/shop?password=***&sslmode=require");
    expect_redacted("postgresql://hdp@db/shop", "postgresql://hdp@db/shop");
    expect_redacted("host=db user=hdp", "host=db user=hdp");
    expect_redacted("application_name=mypassword=x", "application_name=mypassword=x");
    expect_redacted("postgresql://hdp:pa/ss@db/shop", "postgresql://hdp:***@db/shop");
    /* an unquoted password with a space: the words that are no key= are masked too */
    expect_redacted("host=db password=my secret pw dbname=shop",
                    "host=db password=*** dbname=shop");
    expect_redacted("host=db password=my secret", "host=db password=***");
    expect_redacted("host=db password=s3cret user = hdp", "host=db password=*** user = hdp");
    expect_redacted("password=s3cret&sslmode=require", "password=***&sslmode=require");
    char small[8];
    config_redact_dsn("password=s3cretvalue", small, sizeof(small));
    assert_string_equal(small, "passwor"); /* truncated, never overflowing, never the secret */
}

static void test_redis_url(void **state)
{
    (void)state;
    hdp_redis_addr a;
    assert_int_equal(redis_url_parse("redis://localhost", &a), 0);
    assert_string_equal(a.host, "localhost");
    assert_int_equal(a.port, 6379);
    assert_int_equal(a.db, 0);
    assert_string_equal(a.password, "");
    assert_int_equal(redis_url_parse("redis://:p%40ss@10.0.0.1:6380/5", &a), 0);
    assert_string_equal(a.password, "p@ss"); /* percent-decoded */
    assert_string_equal(a.user, "");
    assert_string_equal(a.host, "10.0.0.1");
    assert_int_equal(a.port, 6380);
    assert_int_equal(a.db, 5);
    assert_int_equal(redis_url_parse("redis://user:pw@h/", &a), 0);
    assert_string_equal(a.password, "pw");
    assert_string_equal(a.user, "user");
    assert_int_equal(a.db, 0);
    assert_int_equal(redis_url_parse("redis://:a%3Ab@c%2Fd%25@h:1/2", &a), 0);
    assert_string_equal(a.password, "a:b@c/d%"); /* the last '@' ends the userinfo */
    assert_string_equal(a.host, "h");
    assert_int_equal(a.db, 2);
    assert_int_equal(redis_url_parse("redis://[::1]:7000/1", &a), 0);
    assert_string_equal(a.host, "::1");
    assert_int_equal(a.port, 7000);
    const char *bad[] = {"",
                         "redis://",
                         "rediss://h",
                         "http://h:6379",
                         "redis://h:0",
                         "redis://h:70000",
                         "redis://h:",
                         "redis://h/abc",
                         "redis://h/-1",
                         "redis://:pw@/0",
                         "redis://:p%4@h",
                         "redis://:p%zz@h",
                         "redis://:p%00w@h",
                         "redis://h/+1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (redis_url_parse(bad[i], &a) != -1)
            fail_msg("'%s' was accepted", bad[i]);
}

/* Nothing that carries a credential is ever echoed: not in an error, not by config_print. */
static void test_no_secret_printed(void **state)
{
    (void)state;
    hdp_config c;
    hdp_err e = {{0}};
    setenv("HDP_REDIS_URL", "redis://:RealPass-42@127.0.0.1:6379/abc", 1);
    assert_int_equal(config_load(&c, &e), HDP_ERR);
    config_free(&c);
    assert_non_null(strstr(e.msg, "HDP_REDIS_URL"));
    assert_null(strstr(e.msg, "RealPass-42"));
    assert_non_null(strstr(e.msg, "redis://:***@127.0.0.1:6379/abc"));
    setenv("HDP_REDIS_URL", "redis://:RealPass-42@127.0.0.1:99999", 1);
    assert_int_equal(config_load(&c, &e), HDP_ERR);
    config_free(&c);
    assert_null(strstr(e.msg, "RealPass-42"));
    setenv("HDP_REDIS_URL", "redis://RealPass-42@127.0.0.1:6379/0", 1);
    setenv("HDP_CLICKHOUSE_URL", "http://chuser:ChPw-321@127.0.0.1:8123", 1);
    assert_int_equal(config_load(&c, &e), HDP_OK);
    assert_string_equal(c.redis.password, "RealPass-42");
    char *text = NULL;
    size_t n = 0;
    FILE *out = open_memstream(&text, &n);
    config_print(&c, out);
    fclose(out);
    config_free(&c);
    assert_null(strstr(text, "RealPass-42"));
    assert_null(strstr(text, "ChPw-321"));
    assert_null(strstr(text, "S3Pw-9"));
    assert_non_null(strstr(text, "HDP_CLICKHOUSE_URL=http://chuser:***@127.0.0.1:8123\n"));
    assert_non_null(strstr(text, "HDP_REDIS_URL=redis://***@127.0.0.1:6379/0\n"));
    free(text);
    setenv("HDP_CLICKHOUSE_URL", "ftp://u:ChPw-321@x", 1);
    assert_int_equal(config_load(&c, &e), HDP_ERR);
    config_free(&c);
    assert_null(strstr(e.msg, "ChPw-321"));
    unsetenv("HDP_CLICKHOUSE_URL");
    /* S3 keys in a URL: refused without a word of them (the user part is the access key) */
    const char *s3[][2] = {{"HDP_S3_ENDPOINT", "http://AKID42:S3/Pw+9@127.0.0.1:9000"},
                           {"HDP_S3_ENDPOINT", "ftp://AKID42:S3/Pw+9@127.0.0.1:9000"},
                           {"HDP_LAKE_URL", "s3://AKID42:S3/Pw+9@bucket/lake"},
                           {"HDP_LAKE_URL", "s3://AKID42:S3%2FPw%2B9@bucket/lake"}};
    for (size_t i = 0; i < sizeof(s3) / sizeof(s3[0]); i++) {
        setenv(s3[i][0], s3[i][1], 1);
        assert_int_equal(config_load(&c, &e), HDP_ERR);
        config_free(&c);
        unsetenv(s3[i][0]);
        if (strstr(e.msg, s3[i][0]) == NULL || strstr(e.msg, "AKID42") || strstr(e.msg, "Pw"))
            fail_msg("%s=%s: '%s'", s3[i][0], s3[i][1], e.msg);
    }
    /* a raw '/' in a password does not end the userinfo for the mask */
    setenv("HDP_REDIS_URL", "redis://:Rd/Pw-7@127.0.0.1:6379/x", 1);
    assert_int_equal(config_load(&c, &e), HDP_ERR);
    config_free(&c);
    assert_null(strstr(e.msg, "Pw-7"));
}

static void test_url_redact(void **state)
{
    (void)state;
    char out[128];
    url_redact("http://u:p@h:1/x?y=1", out, sizeof(out));
    assert_string_equal(out, "http://u:***@h:1/x?y=1");
    url_redact("redis://secret@h", out, sizeof(out));
    assert_string_equal(out, "redis://***@h");
    /* the last '@' ends the userinfo: a raw '/' in a password is masked with it, an '@' in a
     * path masks too much (never too little) */
    url_redact("http://u:pa/ss?#x@h:1/y", out, sizeof(out));
    assert_string_equal(out, "http://u:***@h:1/y");
    url_redact("http://h:1/a@b", out, sizeof(out));
    assert_string_equal(out, "http://h:***@b");
    url_redact("http://h:1/a", out, sizeof(out));
    assert_string_equal(out, "http://h:1/a");
    url_redact("no url here", out, sizeof(out));
    assert_string_equal(out, "no url here");
    char tiny[12];
    url_redact("http://u:secret@h", tiny, sizeof(tiny));
    assert_null(strstr(tiny, "secret"));
}

/* The default lake follows HDP_VAR_DIR and is absolute. */
static void test_lake_follows_var_dir(void **state)
{
    (void)state;
    hdp_config c;
    hdp_err e = {{0}};
    setenv("HDP_VAR_DIR", "/tmp/x/", 1);
    assert_int_equal(config_load(&c, &e), HDP_OK);
    assert_string_equal(c.lake_url, "file:///tmp/x/lake");
    config_free(&c);
    setenv("HDP_VAR_DIR", "rel/dir", 1);
    assert_int_equal(config_load(&c, &e), HDP_OK);
    char want[4200], cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(want, sizeof(want), "file://%s/rel/dir/lake", cwd);
    assert_string_equal(c.lake_url, want);
    config_free(&c);
    setenv("HDP_LAKE_URL", "s3://b/p", 1); /* set explicitly: taken as is */
    assert_int_equal(config_load(&c, &e), HDP_OK);
    assert_string_equal(c.lake_url, "s3://b/p");
    config_free(&c);
}

static void test_hostport(void **state)
{
    (void)state;
    char host[16];
    int port = 0;
    assert_int_equal(hostport_parse("example.org:443", host, sizeof(host), &port), 0);
    assert_string_equal(host, "example.org");
    assert_int_equal(port, 443);
    assert_int_equal(hostport_parse("[fe80::1]:80", host, sizeof(host), &port), 0);
    assert_string_equal(host, "fe80::1");
    assert_int_equal(hostport_parse("a-very-long-host-name:80", host, sizeof(host), &port), -1);
    assert_int_equal(hostport_parse("[::1]80", host, sizeof(host), &port), -1);
    assert_int_equal(hostport_parse("h:80x", host, sizeof(host), &port), -1);
}

int main(void)
{
    if (mkdtemp(tmpdir) == NULL || chdir(tmpdir) != 0) {
        perror("test_config: temporary folder");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clean_env),
        cmocka_unit_test_setup(test_environment, clean_env),
        cmocka_unit_test_setup(test_bad_values, clean_env),
        cmocka_unit_test_setup(test_env_file, clean_env),
        cmocka_unit_test_setup(test_default_env_file, clean_env),
        cmocka_unit_test_setup(test_missing_env_file, clean_env),
        cmocka_unit_test(test_redact),
        cmocka_unit_test_setup(test_clickhouse_url_masked, clean_env),
        cmocka_unit_test(test_redis_url),
        cmocka_unit_test_setup(test_no_secret_printed, clean_env),
        cmocka_unit_test(test_url_redact),
        cmocka_unit_test_setup(test_lake_follows_var_dir, clean_env),
        cmocka_unit_test(test_hostport),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    clean_env(NULL);
    if (chdir("/") == 0)
        rmdir(tmpdir);
    return rc;
}
