/* laketool — a tiny driver of the lake interface for integration tests.
 *
 *   laketool describe | ensure | put KEY FILE | putmem KEY FILE | get KEY | head KEY
 *            | del KEY | ls [PREFIX]
 *
 * Configuration comes from the real loader (HDP_LAKE_URL, HDP_S3_*). Test knobs from the
 * environment: HDP_S3_MULTIPART_THRESHOLD, HDP_S3_PART_SIZE (bytes), HDP_S3_LIST_PAGE,
 * HDP_S3_MAX_TRIES, HDP_S3_BACKOFF_MS. get writes the object to stdout; head prints
 * "found SIZE" or "missing"; ls prints "KEY<TAB>SIZE" lines. Exit 0 ok, 1 failure (one line
 * on stderr), 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "io/lake.h"
#include "lake/lake_conf.h"

static unsigned long long env_num(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 10) : 0;
}

static int print_entry(void *ctx, const char *key, uint64_t size, int64_t mtime)
{
    (void)mtime;
    (void)ctx;
    printf("%s\t%llu\n", key, (unsigned long long)size);
    return 0;
}

static int read_file(const char *path, hdp_buf *out, hdp_err *e)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return hdp_fail(e, "cannot open %s", path);
    char chunk[65536];
    size_t n;
    for (;;) {
        n = fread(chunk, 1, sizeof(chunk), f);
        if (n == 0)
            break;
        buf_append(out, chunk, n);
    }
    int bad = ferror(f);
    fclose(f);
    return bad ? hdp_fail(e, "cannot read %s", path) : HDP_OK;
}

static int run(hdp_lake *lk, int argc, char **argv, hdp_err *e)
{
    const char *cmd = argv[1];
    if (strcmp(cmd, "describe") == 0) {
        printf("%s\n", lake_describe(lk));
        return HDP_OK;
    }
    if (strcmp(cmd, "ensure") == 0)
        return lake_ensure(lk, e);
    if (strcmp(cmd, "put") == 0 && argc == 4)
        return lake_put_file(lk, argv[2], argv[3], e);
    if (strcmp(cmd, "putmem") == 0 && argc == 4) {
        hdp_buf b = HDP_BUF_INIT;
        int rc = read_file(argv[3], &b, e);
        if (rc == HDP_OK)
            rc = lake_put(lk, argv[2], b.data, b.len, e);
        buf_free(&b);
        return rc;
    }
    if (strcmp(cmd, "get") == 0 && argc == 3) {
        hdp_buf b = HDP_BUF_INIT;
        int rc = lake_get(lk, argv[2], &b, e);
        if (rc == HDP_OK && b.len)
            fwrite(b.data, 1, b.len, stdout);
        buf_free(&b);
        return rc;
    }
    if (strcmp(cmd, "head") == 0 && argc == 3) {
        int found = 0;
        uint64_t size = 0;
        int rc = lake_head(lk, argv[2], &found, &size, e);
        if (rc == HDP_OK && found)
            printf("found %llu\n", (unsigned long long)size);
        else if (rc == HDP_OK)
            printf("missing\n");
        return rc;
    }
    if (strcmp(cmd, "del") == 0 && argc == 3)
        return lake_delete(lk, argv[2], e);
    if (strcmp(cmd, "ls") == 0 && argc <= 3)
        return lake_list(lk, argc == 3 ? argv[2] : "", print_entry, NULL, e);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: laketool describe|ensure|put KEY FILE|putmem KEY FILE|get KEY|"
                        "head KEY|del KEY|ls [PREFIX]\n");
        return 2;
    }
    hdp_err e = {{0}};
    hdp_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    if (config_load(&cfg, &e) != HDP_OK) {
        fprintf(stderr, "laketool: %s\n", e.msg);
        config_free(&cfg);
        return 2;
    }
    hdp_lake_opts o = {
        .multipart_threshold = env_num("HDP_S3_MULTIPART_THRESHOLD"),
        .part_size = env_num("HDP_S3_PART_SIZE"),
        .list_page = (int)env_num("HDP_S3_LIST_PAGE"),
        .max_tries = (int)env_num("HDP_S3_MAX_TRIES"),
        .backoff_ms = (int)env_num("HDP_S3_BACKOFF_MS"),
    };
    hdp_lake_conf lc = lake_conf_of(&cfg);
    lc.tuning = o;
    hdp_lake *lk = lake_open(&lc, &e);
    int rc = lk ? run(lk, argc, argv, &e) : HDP_ERR;
    int code = 0;
    if (rc == 2) {
        fprintf(stderr, "laketool: bad command or arguments\n");
        code = 2;
    } else if (rc != HDP_OK) {
        fprintf(stderr, "laketool: %s\n", e.msg);
        code = 1;
    }
    lake_close(lk);
    config_free(&cfg);
    return code;
}
