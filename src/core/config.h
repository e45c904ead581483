/* config.h — hdp's configuration: one declarative table drives parsing, validation,
 * `hdp --help`, `hdp config` and the README's table (`hdp config --markdown`).
 *
 * Values come from the environment, then from a `.env` file (HDP_ENV_FILE, default ./.env),
 * then from the table's default: the environment wins. A bad value is a one-line error that
 * names the variable; commands exit 2 on it. */
#ifndef HDP_CONFIG_H
#define HDP_CONFIG_H

#include <stdio.h>

#include "core/err.h"
#include "core/url.h"

typedef struct hdp_config {
    char *source_dsn;
    char *dwh_dsn;
    char *redis_url;
    char *clickhouse_url;
    char *lake_url;
    char *s3_endpoint;
    char *s3_region;
    char *s3_access_key;
    char *s3_secret_key;
    char *http_addr;
    char *api_token;
    long batch_interval;
    long segment_seconds;
    char *telegram_token;
    char *telegram_chat_id;
    char *telegram_api;
    char *log_level;
    char *var_dir;
    long http_threads;
    long speed_batch_ms;
    long serve_cache_ms;
    long speed_drop_grace;
    long gc_retention;
    long gc_keep_manifests;
    long http_max_conns;
    long http_per_addr;
    long http_header_timeout; /* seconds */
    long http_idle_timeout;   /* seconds */

    /* Derived from the values above by config_load(). */
    hdp_redis_addr redis;
    char http_host[256];
    int http_port;
} hdp_config;

/* Loads and validates every variable. On error, e names the variable and the problem; the
 * config is left partly filled and must still be passed to config_free(). */
int config_load(hdp_config *cfg, hdp_err *e);
void config_free(hdp_config *cfg);

/* Prints the effective configuration, secrets masked. */
void config_print(const hdp_config *cfg, FILE *out);
/* Prints the README table of variables (Markdown). */
void config_print_markdown(FILE *out);
/* Prints a compact list for --help. */
void config_print_help(FILE *out);

/* Parses one line of a `.env` file as fgets() reads it: KEY=VALUE with an optional `export `
 * in front, blanks around the key, blanks before and whitespace after the value, and one pair
 * of matching quotes around the value removed. Returns 1 with *key and *val allocated (the
 * caller frees both), 0 for a blank or `#` comment line, -1 for a line without '='. */
int config_dotenv_line(const char *line, char **key, char **val);

/* Copies a libpq connection string with password=... masked, for logs. */
void config_redact_dsn(const char *dsn, char *out, size_t outlen);

#endif
