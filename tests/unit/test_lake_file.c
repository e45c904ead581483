/* test_lake_file.c — the file:// lake backend on a temporary folder. */
#include "unit.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "io/lake.h"

typedef struct fixture {
    char dir[64];
    char url[96];
    hdp_lake_conf cfg;
    hdp_lake *lk;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/hdp-lake-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->url, sizeof(f->url), "file://%s/root", f->dir);
    f->cfg.url = f->url;
    hdp_err e = {{0}};
    f->lk = lake_open(&f->cfg, &e);
    if (f->lk == NULL || lake_ensure(f->lk, &e) != HDP_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    lake_close(f->lk);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void put_str(hdp_lake *lk, const char *key, const char *s)
{
    hdp_err e = {{0}};
    int rc = lake_put(lk, key, s, strlen(s), &e);
    if (rc != HDP_OK)
        fail_msg("put %s: %s", key, e.msg);
}

typedef struct listing {
    char keys[32][128];
    uint64_t sizes[32];
    int n;
} listing;

static int collect(void *ctx, const char *key, uint64_t size, int64_t mtime)
{
    (void)mtime;
    listing *l = ctx;
    if (l->n >= 32)
        return 99;
    snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", key);
    l->sizes[l->n++] = size;
    return 0;
}

static int stop_after_one(void *ctx, const char *key, uint64_t size, int64_t mtime)
{
    (void)mtime;
    (void)key;
    (void)size;
    ++*(int *)ctx;
    return 7;
}

/* Counts files whose names start with ".tmp-" anywhere under path. */
static int count_tmp(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return 0;
    int n = 0;
    for (;;) {
        struct dirent *de = readdir(d);
        if (de == NULL)
            break;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (strncmp(de->d_name, ".tmp-", 5) == 0)
            n++;
        char sub[1024];
        snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            n += count_tmp(sub);
    }
    closedir(d);
    return n;
}

static void test_roundtrip_nested(void **state)
{
    fixture *f = *state;
    hdp_err e = {{0}};
    put_str(f->lk, "raw/orders/dt=2026-11-23/x.jsonl", "{\"a\":1}\n");
    hdp_buf b = HDP_BUF_INIT;
    assert_int_equal(lake_get(f->lk, "raw/orders/dt=2026-11-23/x.jsonl", &b, &e), HDP_OK);
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.data, "{\"a\":1}\n", 8);
    /* overwrite replaces the whole object */
    put_str(f->lk, "raw/orders/dt=2026-11-23/x.jsonl", "z");
    assert_int_equal(lake_get(f->lk, "raw/orders/dt=2026-11-23/x.jsonl", &b, &e), HDP_OK);
    assert_int_equal(b.len, 1);
    assert_string_equal(b.data, "z");
    int found = 0;
    uint64_t size = 99;
    assert_int_equal(lake_head(f->lk, "raw/orders/dt=2026-11-23/x.jsonl", &found, &size, &e),
                     HDP_OK);
    assert_int_equal(found, 1);
    assert_int_equal(size, 1);
    buf_free(&b);
    assert_int_equal(count_tmp(f->dir), 0);
}

static void test_missing(void **state)
{
    fixture *f = *state;
    hdp_err e = {{0}};
    int found = 1;
    uint64_t size = 5;
    assert_int_equal(lake_head(f->lk, "no/such/key", &found, &size, &e), HDP_OK);
    assert_int_equal(found, 0);
    assert_int_equal(size, 0);
    put_str(f->lk, "dir/file", "x");
    /* a "folder" is not an object */
    assert_int_equal(lake_head(f->lk, "dir", &found, NULL, &e), HDP_OK);
    assert_int_equal(found, 0);
    assert_int_equal(lake_head(f->lk, "dir/file/deeper", &found, NULL, &e), HDP_OK);
    assert_int_equal(found, 0);
    hdp_buf b = HDP_BUF_INIT;
    assert_int_equal(lake_get(f->lk, "no/such/key", &b, &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "not found"));
    assert_int_equal(lake_get(f->lk, "dir", &b, &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "not found"));
    buf_free(&b);
}

static void test_empty_object(void **state)
{
    fixture *f = *state;
    hdp_err e = {{0}};
    assert_int_equal(lake_put(f->lk, "empty", NULL, 0, &e), HDP_OK);
    int found = 0;
    uint64_t size = 7;
    assert_int_equal(lake_head(f->lk, "empty", &found, &size, &e), HDP_OK);
    assert_int_equal(found, 1);
    assert_int_equal(size, 0);
    hdp_buf b = HDP_BUF_INIT;
    buf_puts(&b, "old contents");
    assert_int_equal(lake_get(f->lk, "empty", &b, &e), HDP_OK);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_list_order_prefix_and_tmp(void **state)
{
    fixture *f = *state;
    hdp_err e = {{0}};
    put_str(f->lk, "b/2", "22");
    put_str(f->lk, "a/z", "z");
    put_str(f->lk, "b/10", "1010");
    put_str(f->lk, "a-b", "ab");
    put_str(f->lk, "b/1/x", "x");
    put_str(f->lk, "c", "");
    /* a crashed writer's leftovers and a stray temp file must not show */
    char path[256];
    snprintf(path, sizeof(path), "%s/root/b/.tmp-1-deadbeef", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("partial", fp);
    fclose(fp);

    listing l = {0};
    assert_int_equal(lake_list(f->lk, "", collect, &l, &e), HDP_OK);
    const char *want[] = {"a-b", "a/z", "b/1/x", "b/10", "b/2", "c"};
    const uint64_t sizes[] = {2, 1, 1, 4, 2, 0};
    assert_int_equal(l.n, 6);
    for (int i = 0; i < 6; i++) {
        assert_string_equal(l.keys[i], want[i]);
        assert_int_equal(l.sizes[i], sizes[i]);
    }
    /* prefixes: a folder, part of a name, and one that matches nothing */
    memset(&l, 0, sizeof(l));
    assert_int_equal(lake_list(f->lk, "b/", collect, &l, &e), HDP_OK);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.keys[0], "b/1/x");
    memset(&l, 0, sizeof(l));
    assert_int_equal(lake_list(f->lk, "b/1", collect, &l, &e), HDP_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.keys[0], "b/1/x");
    assert_string_equal(l.keys[1], "b/10");
    memset(&l, 0, sizeof(l));
    assert_int_equal(lake_list(f->lk, "a", collect, &l, &e), HDP_OK);
    assert_int_equal(l.n, 2);
    memset(&l, 0, sizeof(l));
    assert_int_equal(lake_list(f->lk, "zzz/", collect, &l, &e), HDP_OK);
    assert_int_equal(l.n, 0);
    /* the callback can stop the walk; its value comes back */
    int calls = 0;
    assert_int_equal(lake_list(f->lk, "", stop_after_one, &calls, &e), 7);
    assert_int_equal(calls, 1);
}

static void test_delete(void **state)
{
    fixture *f = *state;
    hdp_err e = {{0}};
    put_str(f->lk, "d/one", "1");
    assert_int_equal(lake_delete(f->lk, "d/one", &e), HDP_OK);
    int found = 1;
    assert_int_equal(lake_head(f->lk, "d/one", &found, NULL, &e), HDP_OK);
    assert_int_equal(found, 0);
    assert_int_equal(lake_delete(f->lk, "d/one", &e), HDP_OK);
    assert_int_equal(lake_delete(f->lk, "never/was", &e), HDP_OK);
    assert_int_equal(lake_delete(f->lk, "d", &e), HDP_OK); /* a folder is no object */
}

static void test_put_file(void **state)
{
    fixture *f = *state;
    hdp_err e = {{0}};
    char src[128];
    snprintf(src, sizeof(src), "%s/src.bin", f->dir);
    FILE *fp = fopen(src, "wb");
    assert_non_null(fp);
    for (int i = 0; i < 200000; i++)
        fputc(i * 7 % 251, fp);
    fclose(fp);
    assert_int_equal(lake_put_file(f->lk, "bin/x.bin", src, &e), HDP_OK);
    hdp_buf b = HDP_BUF_INIT;
    assert_int_equal(lake_get(f->lk, "bin/x.bin", &b, &e), HDP_OK);
    assert_int_equal(b.len, 200000);
    for (int i = 0; i < 200000; i++)
        assert_int_equal((unsigned char)b.data[i], i * 7 % 251);
    buf_free(&b);
    assert_int_equal(lake_put_file(f->lk, "bin/y", "/nonexistent/file", &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "/nonexistent/file"));
    assert_int_equal(count_tmp(f->dir), 0);
}

static void test_bad_keys(void **state)
{
    fixture *f = *state;
    hdp_err e = {{0}};
    const char *bad[] = {"",    "/abs",   "a//b",       "a/../b",  "..",
                         "a/.", "trail/", "x/.tmp-1-2", "ctl\nkey"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(lake_put(f->lk, bad[i], "x", 1, &e), HDP_ERR);
        assert_true(strlen(e.msg) > 0);
    }
    assert_int_equal(lake_put(f->lk, NULL, "x", 1, &e), HDP_ERR);
    int found;
    assert_int_equal(lake_head(f->lk, "../etc/passwd", &found, NULL, &e), HDP_ERR);
    listing l = {0};
    assert_int_equal(lake_list(f->lk, "../", collect, &l, &e), HDP_ERR);
    assert_int_equal(lake_list(f->lk, "ok/", collect, &l, &e), HDP_OK);
    /* NULL lakes and arguments are errors, not crashes */
    assert_int_equal(lake_put(NULL, "k", "x", 1, &e), HDP_ERR);
    assert_int_equal(lake_get(f->lk, "k", NULL, &e), HDP_ERR);
    lake_close(NULL);
}

static void test_open_urls(void **state)
{
    (void)state;
    hdp_err e = {{0}};
    hdp_lake_conf cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.url = "file://./var/lake";
    hdp_lake *lk = lake_open(&cfg, &e);
    assert_non_null(lk);
    char cwd[1024];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    char want[1200];
    snprintf(want, sizeof(want), "file://%s/var/lake", cwd);
    assert_string_equal(lake_describe(lk), want);
    lake_close(lk);
    cfg.url = "file:///abs/path/";
    lk = lake_open(&cfg, &e);
    assert_non_null(lk);
    assert_string_equal(lake_describe(lk), "file:///abs/path");
    lake_close(lk);
    cfg.url = "ftp://x";
    assert_null(lake_open(&cfg, &e));
    assert_non_null(strstr(e.msg, "file://"));
    cfg.url = "s3://Bad_Bucket";
    assert_null(lake_open(&cfg, &e));
    assert_non_null(strstr(e.msg, "bucket"));
    cfg.url = "s3://good-bucket/p";
    cfg.s3_access_key = "";
    assert_null(lake_open(&cfg, &e)); /* S3 without keys is a clear error */
    assert_non_null(strstr(e.msg, "HDP_S3_ACCESS_KEY"));
    cfg.s3_access_key = "AK";
    cfg.s3_secret_key = "SK-do-not-print";
    cfg.s3_endpoint = "http://127.0.0.1:9000/";
    lk = lake_open(&cfg, &e);
    assert_non_null(lk);
    assert_string_equal(lake_describe(lk), "s3://good-bucket/p/ @ http://127.0.0.1:9000");
    lake_close(lk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_order_prefix_and_tmp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_keys, setup, teardown),
        cmocka_unit_test(test_open_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
