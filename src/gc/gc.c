/* gc.c — `hdp run gc` (core/stage.h): the curated zone's garbage, as Iceberg's orphan-file
 * removal and snapshot expiry do it.
 *
 * Per table, under the table's compaction lock (so no compaction is between writing a file
 * and publishing the manifest that lists it):
 *   - manifests: the newest HDP_GC_KEEP_MANIFESTS versions are kept, and every version
 *     younger than the retention; older ones are removed (readers take the newest version,
 *     and a version lists every file of the ones before it);
 *   - files under curated/<table>/ that no retained manifest lists and that are older than
 *     the retention are removed: parts of crashed runs, never published.
 * A file a retained manifest lists is never removed, so a reader holding any retained
 * version finds all of its files. Also removed: this host's compaction spool folders older
 * than the retention (left by runs killed -9). The raw zone and the quarantine are never
 * touched: raw is the record of what happened. */
#include "gc/gc.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/lake_layout.h"
#include "core/log.h"
#include "core/strmap.h"
#include "core/timeutil.h"
#include "io/fsutil.h"
#include "io/lake.h"
#include "lake/lake_conf.h"
#include "io/pg.h"
#include "lake/lake_state.h"
#include "lake/manifest.h"
#include "lake/schema.h"

typedef struct gc {
    const hdp_config *cfg;
    long retention_s;
    long keep;
} gc;

typedef struct listed {
    char **keys;
    int64_t *mtimes;
    size_t n, cap;
} listed;

static int collect(void *ctx, const char *key, uint64_t size, int64_t mtime)
{
    (void)size;
    listed *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->keys = xrealloc(l->keys, l->cap * sizeof(char *));
        l->mtimes = xrealloc(l->mtimes, l->cap * sizeof(int64_t));
    }
    l->keys[l->n] = xstrdup(key);
    l->mtimes[l->n++] = mtime;
    return 0;
}

static void listed_free(listed *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->keys[i]);
    free(l->keys);
    free(l->mtimes);
    memset(l, 0, sizeof(*l));
}

/* Version of ".../vNNNNNNNNNN.json", or -1. */
static int64_t version_of(const char *key)
{
    const char *v = strrchr(key, '/');
    if (v == NULL || v[1] != 'v' || strlen(v) != 17 || strcmp(v + 12, ".json") != 0)
        return -1;
    return strtoll(v + 2, NULL, 10);
}

typedef struct gc_counts {
    int64_t manifests, files, bytes_kept_files, spools, busy;
} gc_counts;

static int lock_table(PGconn *c, const char *table, int take, int *got, hdp_err *e)
{
    char name[128];
    snprintf(name, sizeof(name), "hdp.compact.%s", table);
    const char *p[1] = {name};
    PGresult *r = pg_query(c,
                           take ? "SELECT pg_try_advisory_lock(hashtextextended($1, 0))"
                                : "SELECT pg_advisory_unlock(hashtextextended($1, 0))",
                           1, p, e);
    if (r == NULL)
        return pg_conn_lost(c) ? HDP_RETRY : HDP_ERR;
    *got = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return HDP_OK;
}

/* One table's manifests and orphans. */
static int gc_table(gc *g, hdp_lake *lk, const char *table, int64_t now, gc_counts *n, hdp_err *e)
{
    char prefix[160];
    snprintf(prefix, sizeof(prefix), LAKE_MANIFESTS_PREFIX "%s/", table);
    listed mf = {0}, files = {0};
    int rc = lake_list(lk, prefix, collect, &mf, e);
    int64_t newest = 0;
    for (size_t i = 0; i < mf.n; i++)
        if (version_of(mf.keys[i]) > newest)
            newest = version_of(mf.keys[i]);
    strmap keep_files = STRMAP_INIT;
    hdp_buf b = HDP_BUF_INIT;
    for (size_t i = 0; rc == HDP_OK && i < mf.n; i++) {
        int64_t v = version_of(mf.keys[i]);
        if (v < 0)
            continue;
        int retained =
            v > newest - g->keep || mf.mtimes[i] > now - g->retention_s || mf.mtimes[i] == 0;
        if (!retained) {
            rc = lake_delete(lk, mf.keys[i], e);
            n->manifests += rc == HDP_OK;
            continue;
        }
        manifest m = {0};
        rc = lake_get(lk, mf.keys[i], &b, e);
        if (rc == HDP_OK && manifest_decode(b.data, b.len, &m, e) != HDP_OK) {
            hdp_err_prefix(e, "%s: ", mf.keys[i]);
            rc = HDP_ERR; /* an unreadable manifest: remove nothing it might list */
        }
        for (size_t k = 0; rc == HDP_OK && k < m.nfiles; k++)
            strmap_add(&keep_files, m.files[k].key, strlen(m.files[k].key), 1);
        manifest_free(&m);
    }
    snprintf(prefix, sizeof(prefix), LAKE_CURATED_PREFIX "%s/", table);
    if (rc == HDP_OK)
        rc = lake_list(lk, prefix, collect, &files, e);
    for (size_t i = 0; rc == HDP_OK && i < files.n; i++) {
        int64_t dummy;
        if (strmap_get(&keep_files, files.keys[i], strlen(files.keys[i]), &dummy))
            continue;
        if (files.mtimes[i] == 0 || files.mtimes[i] > now - g->retention_s)
            continue; /* young, or of unknown age: it may be a run's file in flight */
        rc = lake_delete(lk, files.keys[i], e);
        if (rc == HDP_OK) {
            n->files++;
            log_info("gc: removed %s (listed by no manifest)", files.keys[i]);
        }
    }
    buf_free(&b);
    strmap_free(&keep_files);
    listed_free(&mf);
    listed_free(&files);
    return rc;
}

/* This host's compaction spools of killed runs. */
static void gc_spools(gc *g, int64_t now, gc_counts *n)
{
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s/spool/compact", g->cfg->var_dir);
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "run-", 4) != 0)
            continue;
        char path[4500];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) == 0 && (int64_t)st.st_mtime < now - g->retention_s) {
            fs_remove_tree(path);
            n->spools++;
        }
    }
    closedir(d);
}

static int gc_init(void **ctx, const hdp_config *cfg, const stage_args *a, hdp_err *e)
{
    (void)e;
    gc *g = xcalloc(1, sizeof(*g));
    g->cfg = cfg;
    g->retention_s = a->retention_s > 0 ? a->retention_s : cfg->gc_retention;
    g->keep = cfg->gc_keep_manifests;
    *ctx = g;
    return HDP_OK;
}

static int gc_unit(void *ctx, volatile int *cancel, stage_report *r, hdp_err *e)
{
    gc *g = ctx;
    gc_counts n = {0};
    PGconn *c = NULL;
    int rc = pg_open(&c, g->cfg->dwh_dsn, NULL, NULL, e);
    hdp_lake *lk = rc == HDP_OK ? lake_open_config(g->cfg, e) : NULL;
    if (rc == HDP_OK && lk == NULL)
        rc = HDP_ERR;
    int64_t now = floor_div(now_unix_us(), USEC_PER_SEC);
    size_t ntables;
    const sch_table *t = sch_tables(&ntables);
    for (size_t i = 0; rc == HDP_OK && i < ntables && !*cancel; i++) {
        int got = 0;
        rc = lock_table(c, t[i].name, 1, &got, e);
        if (rc == HDP_OK && !got) {
            n.busy++; /* compaction is at work: next time */
            continue;
        }
        if (rc == HDP_OK)
            rc = gc_table(g, lk, t[i].name, now, &n, e);
        int ignored = 0;
        hdp_err ue;
        lock_table(c, t[i].name, 0, &ignored, &ue);
    }
    if (rc == HDP_OK)
        gc_spools(g, now, &n);
    lake_close(lk);
    if (c)
        PQfinish(c);
    r->moved = n.manifests + n.files > 0;
    snprintf(r->summary, sizeof(r->summary),
             "gc: %" PRId64 " manifest(s) and %" PRId64 " orphan file(s) removed, %" PRId64
             " spool folder(s); retention %ld s, newest %ld manifests kept%s",
             n.manifests, n.files, n.spools, g->retention_s, g->keep,
             n.busy ? " (tables being compacted skipped)" : "");
    return rc;
}

static void gc_close(void *ctx)
{
    free(ctx);
}

const hdp_stage gc_stage = {
    .name = "gc",
    .description = "old manifests and orphan curated files (older than the retention) removed",
    .kind = STAGE_BATCH,
    .init = gc_init,
    .run = gc_unit,
    .close = gc_close,
};
