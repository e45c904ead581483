/* hdp init — idempotent creation of everything the platform needs: databases, the source
 * schema, the publication, one logical replication slot per consumer, the warehouse schema,
 * the lake, and (when HDP_CLICKHOUSE_URL is set) the ClickHouse database of the marts with
 * the files sql/clickhouse/NN_name.sql applied in it. Running it twice changes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/cdc.h"
#include "cmd/cmd.h"
#include "core/embedded.h"
#include "core/speed_model.h"
#include "io/clickhouse.h"
#include "io/lake.h"
#include "lake/lake_conf.h"
#include "io/pg.h"
#include "io/redis.h"

static const char *const consumer_slots[] = {CDC_SLOT_SPEED, CDC_SLOT_LAKE, NULL};

/* The database a DSN names, or `def` when it names none. */
static void dsn_dbname(const char *dsn, const char *def, char *out, size_t outlen)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &err);
    snprintf(out, outlen, "%s", def);
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "dbname") == 0 && o->val && o->val[0])
            snprintf(out, outlen, "%s", o->val);
    PQconninfoFree(opts);
    PQfreemem(err);
}

static int ensure_database(const char *dsn, const char *name, hdp_err *e)
{
    PGconn *c = pg_connect(dsn, "postgres", NULL, e);
    if (c == NULL)
        return HDP_ERR;
    const char *p[1] = {name};
    PGresult *r = pg_query(c, "SELECT 1 FROM pg_database WHERE datname = $1", 1, p, e);
    int rc = r ? HDP_OK : HDP_ERR;
    if (r && PQntuples(r) == 0) {
        char *ident = PQescapeIdentifier(c, name, strlen(name));
        char sql[512];
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s ENCODING 'UTF8' TEMPLATE template0", ident);
        PQfreemem(ident);
        rc = pg_exec(c, sql, e);
        if (rc == HDP_OK)
            printf("init: created database %s\n", name);
    } else if (r) {
        printf("init: database %s exists\n", name);
    }
    PQclear(r);
    PQfinish(c);
    return rc == HDP_OK ? HDP_OK : HDP_ERR;
}

static int apply_sql(PGconn *c, const char *file, hdp_err *e)
{
    const char *sql = embedded_get(file, NULL);
    if (sql == NULL)
        return hdp_fail(e, "%s is not embedded in this build", file);
    if (pg_exec_script(c, sql, e) != HDP_OK) {
        hdp_err_prefix(e, "%s: ", file);
        return HDP_ERR;
    }
    printf("init: applied %s\n", file);
    return HDP_OK;
}

/* Makes sure slot exists; *created_lsn receives the new slot's position when this call
 * created it (0 when it existed). */
static int ensure_slot(PGconn *c, const char *slot, int drop_first, uint64_t *created_lsn,
                       hdp_err *e)
{
    *created_lsn = 0;
    const char *p[1] = {slot};
    if (drop_first) {
        PGresult *r =
            pg_query(c,
                     "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                     "WHERE slot_name = $1",
                     1, p, e);
        if (r == NULL)
            return HDP_ERR;
        if (PQntuples(r))
            printf("init: dropped slot %s\n", slot);
        PQclear(r);
    }
    PGresult *r = pg_query(
        c, "SELECT plugin, database FROM pg_replication_slots WHERE slot_name = $1", 1, p, e);
    if (r == NULL)
        return HDP_ERR;
    int exists = PQntuples(r) > 0;
    int ok = !exists || (strcmp(PQgetvalue(r, 0, 0), "pgoutput") == 0 &&
                         strcmp(PQgetvalue(r, 0, 1), PQdb(c)) == 0);
    PQclear(r);
    if (!ok)
        return hdp_fail(e, "slot %s exists but is not a pgoutput slot of database %s", slot,
                        PQdb(c));
    if (exists) {
        printf("init: slot %s exists\n", slot);
        return HDP_OK;
    }
    r = pg_query(c, "SELECT lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')", 1, p, e);
    if (r == NULL)
        return HDP_ERR;
    unsigned long long lsn = 0;
    pg_lsn_parse(PQgetvalue(r, 0, 0), &lsn);
    PQclear(r);
    *created_lsn = lsn;
    printf("init: created slot %s\n", slot);
    return HDP_OK;
}

/* The speed layer's state starts with its slot: a new slot gets a fresh state naming the
 * position it was created at, so `hdp speed` can later tell a Redis that lost its data
 * (no state, or one behind the slot) from one that never held any. */
static int init_speed_state(const hdp_config *cfg, uint64_t created_lsn, hdp_err *e)
{
    hdp_redis *r = redis_new(&cfg->redis, 5000);
    redisReply *rep = NULL;
    int rc;
    if (created_lsn) {
        char lsn[32];
        snprintf(lsn, sizeof(lsn), "%llu", (unsigned long long)created_lsn);
        rc = redis_command(r, &rep, e, "HSET %s lsn 0 segment -1 held 0 slot_created %s",
                           SPEED_STATE_KEY, lsn);
        if (rc == HDP_OK)
            printf("init: speed state created in Redis %s:%d\n", cfg->redis.host, cfg->redis.port);
    } else {
        rc = redis_command(r, &rep, e, "EXISTS %s", SPEED_STATE_KEY);
        if (rc == HDP_OK && rep->type == REDIS_REPLY_INTEGER && rep->integer == 0)
            printf("init: warning: Redis %s:%d holds no speed state although slot %s exists: "
                   "run `hdp rebuild speed`\n",
                   cfg->redis.host, cfg->redis.port, CDC_SLOT_SPEED);
    }
    freeReplyObject(rep);
    redis_free(r);
    if (rc != HDP_OK)
        hdp_err_prefix(e, "speed state: ");
    return rc == HDP_OK ? HDP_OK : HDP_ERR;
}

static int init_source(const hdp_config *cfg, int drop_slots, uint64_t *speed_created, hdp_err *e)
{
    PGconn *c = pg_connect(cfg->source_dsn, NULL, NULL, e);
    if (c == NULL)
        return HDP_ERR;
    char level[32];
    int rc = pg_query_value(c, "SHOW wal_level", level, sizeof(level), e);
    if (rc == HDP_OK && strcmp(level, "logical") != 0)
        rc = hdp_fail(e,
                      "the source has wal_level=%s; logical replication needs "
                      "wal_level=logical (ALTER SYSTEM SET wal_level = logical; restart)",
                      level);
    if (rc == HDP_OK)
        rc = apply_sql(c, "sql/postgres/shop.sql", e);
    if (rc == HDP_OK)
        rc = pg_exec(c,
                     "INSERT INTO hdp_heartbeat (id, beat_at) VALUES (1, now()) "
                     "ON CONFLICT (id) DO NOTHING",
                     e);
    for (int i = 0; rc == HDP_OK && consumer_slots[i]; i++) {
        uint64_t created = 0;
        rc = ensure_slot(c, consumer_slots[i], drop_slots, &created, e);
        if (strcmp(consumer_slots[i], CDC_SLOT_SPEED) == 0)
            *speed_created = created;
    }
    PQfinish(c);
    return rc == HDP_OK ? HDP_OK : HDP_ERR;
}

/* The warehouse: the Data Vault schema (sql/postgres/dwh.sql). */
static int init_dwh(const hdp_config *cfg, hdp_err *e)
{
    PGconn *c = pg_connect(cfg->dwh_dsn, NULL, NULL, e);
    if (c == NULL)
        return HDP_ERR;
    int rc = apply_sql(c, "sql/postgres/dwh.sql", e);
    PQfinish(c);
    return rc == HDP_OK ? HDP_OK : HDP_ERR;
}

static int init_lake(const hdp_config *cfg, hdp_err *e)
{
    hdp_lake *lk = lake_open_config(cfg, e);
    if (lk == NULL)
        return HDP_ERR;
    int rc = lake_ensure(lk, e);
    if (rc == HDP_OK)
        printf("init: lake %s ready\n", lake_describe(lk));
    lake_close(lk);
    return rc == HDP_OK ? HDP_OK : HDP_ERR;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The marts' database: created as HDP_CLICKHOUSE_URL names it (default hdp), then every
 * embedded sql/clickhouse file (*.sql) in name order, statement by statement, inside it (so the
 * files use unqualified names and must be idempotent: CREATE ... IF NOT EXISTS). */
static int init_clickhouse(const hdp_config *cfg, hdp_err *e)
{
    if (cfg->clickhouse_url[0] == '\0') {
        printf("init: ClickHouse not configured: batch marts off\n");
        return HDP_OK;
    }
    ch_client *c = ch_open(cfg->clickhouse_url, NULL, e);
    if (c == NULL)
        return HDP_ERR;
    char sql[256];
    snprintf(sql, sizeof(sql), "CREATE DATABASE IF NOT EXISTS `%s`", ch_database(c));
    ch_call server = {.database = "", .idempotent = 1};
    ch_call in_db = {.idempotent = 1};
    int rc = ch_exec(c, sql, &server, e);
    static const char dir[] = "sql/clickhouse/";
    const char *files[256] = {0};
    size_t nfiles = 0;
    for (size_t i = 0; embedded_name(i) && nfiles < sizeof(files) / sizeof(files[0]); i++) {
        const char *name = embedded_name(i);
        size_t n = strlen(name);
        if (strncmp(name, dir, sizeof(dir) - 1) == 0 && n > 4 && strcmp(name + n - 4, ".sql") == 0)
            files[nfiles++] = name;
    }
    qsort(files, nfiles, sizeof(files[0]), by_name);
    for (size_t i = 0; rc == HDP_OK && i < nfiles; i++) {
        const char *name = files[i];
        int count = 0;
        rc = ch_exec_script(c, embedded_get(name, NULL), &in_db, &count, e);
        if (rc != HDP_OK)
            hdp_err_prefix(e, "%s: ", name);
        else
            printf("init: applied %s to ClickHouse (%d statements)\n", name, count);
    }
    if (rc == HDP_OK)
        printf("init: ClickHouse %s ready\n", ch_describe(c));
    ch_close(c);
    return rc == HDP_OK ? HDP_OK : HDP_ERR;
}

typedef struct init_args {
    int drop_slots;
} init_args;

const cmd_opt cmd_init_opts[] = {
    {"--drop-slots", OPT_FLAG, NULL, 0, 0, OPT_AT(init_args, drop_slots),
     "drop hdp's replication slots first (they hold WAL back)"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

int cmd_init(int argc, char **argv, hdp_config *cfg)
{
    init_args a = {0};
    int npos = 0;
    int code = opts_parse("init", cmd_init_opts, argc, argv, &a, NULL, 0, &npos);
    if (code != EXIT_OK)
        return code;
    int drop_slots = a.drop_slots;
    hdp_err e;
    char shop[128], dwh[128];
    dsn_dbname(cfg->source_dsn, "shop", shop, sizeof(shop));
    dsn_dbname(cfg->dwh_dsn, "dwh", dwh, sizeof(dwh));
    uint64_t speed_created = 0;
    if (ensure_database(cfg->source_dsn, shop, &e) != HDP_OK ||
        ensure_database(cfg->dwh_dsn, dwh, &e) != HDP_OK ||
        init_source(cfg, drop_slots, &speed_created, &e) ||
        init_speed_state(cfg, speed_created, &e) || init_dwh(cfg, &e) || init_lake(cfg, &e) ||
        init_clickhouse(cfg, &e))
        return cmd_error(EXIT_RUNTIME, argv[0], "%s", e.msg);
    printf("init: ok\n");
    return EXIT_OK;
}
