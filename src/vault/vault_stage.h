/* vault_stage.h — one vault load's in-memory side: curated Parquet rows in, binary COPY rows
 * for the staging tables, or the empty vault tables, out (quarantine rows as COPY text), with
 * everything a row-at-a-time pass can decide.
 *
 * Per source table (vault_spec below) a row becomes: a hub row the first time the load sees
 * its business key; a link row the first time it sees the relationship; a satellite row when
 * its hashdiff differs from the last one this load emitted for the key (rows arrive in
 * commit order: files by segment, rows by (commit_lsn, seq)). The first satellite row of a
 * key in the load is flagged `first`: only it must still be compared with the vault's latest
 * row, which the set-based SQL does. Whether a hub/link key is new to the vault is likewise
 * left to SQL (NOT EXISTS).
 *
 * Quarantine (the contract): a row without its business key; an order whose customer, or a
 * line whose order or product, is neither in this load (not quarantined) nor in the vault.
 * References the load has not seen are gathered per slice of rows (vstage_refs) so the caller
 * can ask the vault in one query and mark the known ones (vstage_mark_known).
 *
 * No I/O here: the caller owns the database connection and flushes the buffers. */
#ifndef HDP_VAULT_STAGE_H
#define HDP_VAULT_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/i64map.h"
#include "format/parquet_reader.h"
#include "vault/hkmap.h"
#include "vault/vault_hash.h"

/* Staging outputs, in the order the SQL consumes them. */
enum vstage_out {
    VS_HUB_CUSTOMER,
    VS_HUB_PRODUCT,
    VS_HUB_ORDER,
    VS_LINK_ORDER_CUSTOMER,
    VS_LINK_ORDER_PRODUCT,
    VS_SAT_CUSTOMER,
    VS_SAT_PRODUCT,
    VS_SAT_ORDER,
    VS_SAT_ORDER_LINE,
    VS_QUARANTINE,
    VS_PIT_CUSTOMER, /* PIT rows of a first load (pit[] below) */
    VS_PIT_ORDER,
    VS_NOUT
};

/* Business-key domains whose membership the load tracks. */
enum vstage_domain { VD_CUSTOMER, VD_PRODUCT, VD_ORDER, VD_NDOMAIN };

/* The source tables the vault loads, in load order (a table's references come first). */
enum vstage_source { VSRC_CUSTOMERS, VSRC_PRODUCTS, VSRC_ORDERS, VSRC_ORDER_ITEMS, VSRC_N };

/* Name of a source table ("customers"). */
const char *vstage_source_name(int src);
/* The COPY statement of an output: into its staging table, or, with direct, straight into
 * the vault table (rows carry every vault column). */
const char *vstage_copy_sql(int out, int direct);

typedef struct vault_stage {
    vh_builder h;
    /* Keys emitted this load: per source, its satellite's (value: the last hashdiff and
     * load time; a hub, and the order-product link, are new exactly when their satellite's
     * key is), and the order-customer links (a set: their key is not the order's). */
    hkmap seen[VSRC_N];
    hkmap order_customer;
    i64map known[VD_NDOMAIN]; /* business keys known good (this load or the vault) */
    hdp_buf out[VS_NOUT];     /* COPY data not yet flushed (binary, quarantine text) */
    int64_t emitted[VS_NOUT]; /* rows emitted per output */
    int same_ts[VS_NOUT];     /* a satellite key got two rows with one load_dts */
    /* Outputs COPYed straight into their vault table (it was empty when the load began):
     * satellite rows then carry the vault's columns (record_source, no `first`). Set by
     * the loader before the first row. */
    int direct[VS_NOUT];
    /* Satellites whose PIT rows the stage writes (to VS_PIT_*): a first load, whose PIT
     * table the loader emptied. A key's interval is emitted when its next row comes, the
     * open one by vstage_pit_close. Two rows of a key with one load_dts (same_ts) stop it:
     * the loader then rebuilds that PIT from the satellite. Set by the loader. */
    int pit[VS_NOUT];
    int64_t rows_read;
    int64_t load_id;
    int done[VSRC_N]; /* vstage_source_done was called */
} vault_stage;

void vstage_init(vault_stage *s, int64_t load_id);
/* Frees the per-key maps of source src once its last file is staged: the loader stages
 * the sources one after another (a table's references first), and their keys are disjoint,
 * so at a million orders the orders' maps are gone before the lines' grow. The business
 * keys it made known stay. A done source's rows must not come again. */
void vstage_source_done(vault_stage *s, int src);
/* Emits the open intervals (valid_to infinity) of source src's satellite keys, while its
 * PIT output holds less than max_bytes; *pos starts at 0. Returns 1 while keys remain (the
 * caller flushes, then calls again), 0 when done or when src's PIT is not the stage's. Call
 * it after src's last file, before vstage_source_done. */
int vstage_pit_close(vault_stage *s, int src, size_t *pos, size_t max_bytes);
/* The rows of satellite sat's PIT table the stage wrote, or -1 when it wrote none that
 * stand (not asked for, or a same-ts collapse makes the loader rebuild it from the sat). */
int64_t vstage_pit_rows(const vault_stage *s, int sat);
/* Ends the COPY data of output out before it is sent (binary outputs: the trailer). */
void vstage_end_copy(vault_stage *s, int out);
void vstage_free(vault_stage *s);

/* Column indexes of one file, resolved by name. */
typedef struct vstage_file {
    int src;
    const char *key; /* lake key, for quarantine records */
    const pq_reader *rd;
    long col[24];
} vstage_file;

/* Resolves the columns of the file; HDP_ERR naming the first missing column. */
int vstage_file_open(vstage_file *f, int src, const char *key, const pq_reader *rd, hdp_err *e);

/* Business keys the rows [0, nrows) of the loaded row group reference and the load does not
 * know yet: appended to ids[d] (deduplicated), per domain. */
typedef struct vstage_ids {
    int64_t *v;
    size_t n, cap;
} vstage_ids;
void vstage_refs(vault_stage *s, const vstage_file *f, size_t row0, size_t nrows,
                 vstage_ids ids[VD_NDOMAIN]);
void vstage_mark_known(vault_stage *s, int domain, int64_t id);

/* Emits the staging/quarantine rows of rows [row0, row0 + nrows) of the loaded row group. */
void vstage_rows(vault_stage *s, const vstage_file *f, size_t row0, size_t nrows);

#endif
