/* vault_load.h — `hdp run vault`: the curated zone of the lake into the Data Vault of dwh
 * (sql/postgres/dwh.sql), set-based, insert-only, idempotent.
 *
 * What a load takes: for customers, products, orders and order_items (in that order: a
 * table's references load first), every file of the table's newest manifest that is not in
 * ops.load_file and whose segments compaction has finished for every table (last segment
 * <= compact_frontier(): the lowest complete_through of the tables' progress files), so an
 * order is never judged before its customer's segment is compacted.
 *
 * How: one transaction. An advisory lock keeps loads apart; the load's ops.load_log row is
 * written first (its id tags quarantine rows). Files stream through vault_stage into
 * temporary staging tables with COPY; then, set-based: hubs and links where the key is new,
 * satellites where the hashdiff differs from the key's latest row, the PIT tables rebuilt
 * for the keys the load touched, ops.load_file for every file; COMMIT. A crash anywhere
 * leaves the previous state, and a re-run finds nothing new. */
#ifndef HDP_VAULT_LOAD_H
#define HDP_VAULT_LOAD_H

#include <stdint.h>

#include "core/config.h"
#include "core/stage.h"
#include "core/err.h"
#include "vault/vault_stage.h"

typedef struct vault_stats {
    int64_t load_id; /* 0: nothing new, no load */
    int64_t files;
    int64_t rows_read;
    int64_t quarantined;
    int64_t inserted[VS_QUARANTINE]; /* vault rows inserted per hub/link/satellite */
    int64_t pit_rows;                /* PIT rows written */
    int64_t waiting_files;           /* listed, but beyond what compaction finished */
    int64_t frontier;                /* compaction is complete for every table through it */
    int64_t complete_through;        /* the vault is, after this load (ops.progress 'vault') */
    int64_t seg_first, seg_last;
} vault_stats;

/* One load. HDP_OK (also when there was nothing new), HDP_RETRY when the lake or dwh is
 * unreachable or another load holds the lock, HDP_ERR otherwise; e set on failure. */
int vault_run(const hdp_config *cfg, vault_stats *st, hdp_err *e);

/* The stage (core/stage.h): one load per unit. */
extern const hdp_stage vault_task;

/* Vault rows of st (hubs, links, satellites). */
int64_t vault_rows_inserted(const vault_stats *st);

#endif
