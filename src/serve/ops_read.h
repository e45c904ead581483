/* ops_read.h — what the serving layer reads of the pipeline's own records in dwh's ops
 * schema (runs, tasks, watermark history, notifications, quarantine, compaction's mirrored
 * progress) and of the source's replication slots. PostgreSQL builds the JSON documents
 * (json_build_object), so they are valid by construction; C only wraps them.
 *
 * Each function is a dwh_fn-shaped read (serve/dwh.h): HDP_RETRY when the connection was
 * lost, HDP_ERR for any other failure. Times are RFC 3339 UTC strings. */
#ifndef HDP_SERVE_OPS_READ_H
#define HDP_SERVE_OPS_READ_H

#include <libpq-fe.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define OPS_RUNS_DEFAULT 20
#define OPS_RUNS_MAX     200

/* {"runs":[{"id","dag","trigger","status","started_at","finished_at","error","tasks":[...]}]}
 * newest first, at most limit runs. */
int ops_runs_json(PGconn *c, int limit, hdp_buf *body, hdp_err *e);

/* Queues a run for the active scheduler (ops.run_request); *id is the request's id. */
int ops_request_run(PGconn *c, const char *by, int64_t *id, hdp_err *e);

/* The batch layer's Prometheus series (watermark, per-task last success / duration / rows /
 * failures with a 0 for every task of batch_tasks, runs by status, notifications by status,
 * blocked lake tables, quarantined records of compaction and vault), appended as exposition
 * text. batch_tasks is NULL-terminated. */
int ops_metrics(PGconn *c, const char *const *batch_tasks, hdp_buf *out, hdp_err *e);

/* "watermark":{...},"lake":[...] — members of the pipeline status document (no braces around
 * them) — and the records compaction and the vault quarantined. segment_seconds turns W into
 * the time the batch layer covers. */
int ops_status_json(PGconn *c, long segment_seconds, hdp_buf *out, long long *q_compact,
                    long long *q_vault, hdp_err *e);

/* [{"slot","consumer","active","lag_bytes"}] of the source's hdp slots (on the shop
 * database's connection). */
int ops_slots_json(PGconn *c, hdp_buf *out, hdp_err *e);

#endif
