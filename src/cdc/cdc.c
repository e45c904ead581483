#include "cdc/cdc.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/segment.h"
#include "core/timeutil.h"
#include "io/pg.h"
#include "io/pg_stream.h"

struct cdc_consumer {
    char *dsn;
    char *slot;
    int64_t segment_seconds;
    cdc_callbacks cb;
    void *ctx;

    /* the session */
    int started;
    PGconn *sql;
    pg_stream stream;
    pgo_decoder *dec;
    uint64_t sink_lsn; /* transactions ending at or below it are the sink's already */
    int64_t segment;   /* the clamp's state */
    int in_tx, skip_tx;
    cdc_tx tx;
    uint32_t heartbeat_relid; /* 0 until its Relation message was seen */
    int64_t last_heartbeat_us;
};

cdc_consumer *cdc_new(const char *dsn, const char *slot, int64_t segment_seconds,
                      const cdc_callbacks *cb, void *ctx)
{
    cdc_consumer *c = xcalloc(1, sizeof(*c));
    c->dsn = xstrdup(dsn);
    c->slot = xstrdup(slot);
    c->segment_seconds = segment_seconds;
    c->cb = *cb;
    c->ctx = ctx;
    c->segment = -1;
    return c;
}

void cdc_stop(cdc_consumer *c)
{
    if (c == NULL)
        return;
    pg_stream_close(&c->stream);
    if (c->sql)
        PQfinish(c->sql);
    c->sql = NULL;
    pgo_decoder_free(c->dec);
    c->dec = NULL;
    c->started = 0;
    c->in_tx = 0;
    c->heartbeat_relid = 0;
}

void cdc_free(cdc_consumer *c)
{
    if (c == NULL)
        return;
    cdc_stop(c);
    free(c->dsn);
    free(c->slot);
    free(c);
}

int cdc_start(cdc_consumer *c, uint64_t sink_lsn, int64_t sink_segment, hdp_err *e)
{
    cdc_stop(c);
    int rc = pg_open(&c->sql, c->dsn, NULL, NULL, e);
    if (rc == HDP_OK)
        rc = pg_stream_start(&c->stream, c->dsn, c->slot, CDC_PUBLICATION, e);
    if (rc != HDP_OK) {
        cdc_stop(c);
        return rc;
    }
    c->dec = pgo_decoder_new();
    c->sink_lsn = sink_lsn;
    c->segment = sink_segment;
    c->started = 1;
    return HDP_OK;
}

int cdc_started(const cdc_consumer *c)
{
    return c->started;
}

/* ------------------------------------------------------------------ messages */

static int on_message(cdc_consumer *c, const uint8_t *data, size_t len, hdp_err *e)
{
    pgo_msg m;
    if (pgo_decode(c->dec, data, len, &m, e) != HDP_OK) {
        hdp_err_prefix(e, "pgoutput: ");
        return HDP_ERR;
    }
    switch (m.kind) {
    case 'B':
        c->in_tx = 1;
        /* BEGIN carries the commit record's LSN; its end lies beyond, so a transaction the
         * sink holds (end <= sink_lsn) has final_lsn < sink_lsn and the next one > it. */
        c->skip_tx = m.final_lsn != 0 && m.final_lsn <= c->sink_lsn;
        if (c->skip_tx)
            return HDP_OK;
        c->tx = (cdc_tx){
            .final_lsn = m.final_lsn, .commit_us = m.commit_ts + PG_EPOCH_UNIX_USEC, .xid = m.xid};
        c->tx.segment = segment_of(c->tx.commit_us, c->segment_seconds, c->segment);
        c->segment = c->tx.segment;
        return c->cb.begin(c->ctx, &c->tx, e);
    case 'R':
        if (strcmp(m.rel->relname, CDC_HEARTBEAT_TABLE) == 0)
            c->heartbeat_relid = m.rel->relid;
        return c->cb.relation ? c->cb.relation(c->ctx, m.rel, e) : HDP_OK;
    case 'I':
    case 'U':
    case 'D': {
        if (c->skip_tx || m.rel->relid == c->heartbeat_relid)
            return HDP_OK;
        int rc = c->cb.change(c->ctx, &c->tx, &m, e);
        c->tx.seq++;
        return rc;
    }
    case 'T':
        if (c->skip_tx)
            return HDP_OK;
        return c->cb.change(c->ctx, &c->tx, &m, e);
    case 'C':
        c->in_tx = 0;
        if (c->skip_tx || m.end_lsn <= c->sink_lsn)
            return HDP_OK;
        c->tx.end_lsn = m.end_lsn;
        return c->cb.commit(c->ctx, &c->tx, e);
    default: /* 'O' origin, 'Y' type: nothing to do */
        return HDP_OK;
    }
}

int cdc_poll(cdc_consumer *c, int wait_ms, int max_frames, hdp_err *e)
{
    if (!c->started)
        return hdp_retry(e, "slot %s: not streaming", c->slot);
    for (int n = 0; n < max_frames; n++) {
        pgrepl_frame f;
        int got = 0;
        int rc = pg_stream_next(&c->stream, n == 0 ? wait_ms : 0, &f, &got, e);
        if (rc != HDP_OK)
            return rc;
        if (!got)
            break;
        if (f.kind == 'w') {
            rc = on_message(c, f.data, f.len, e);
            if (rc != HDP_OK)
                return rc;
        }
        if (c->stream.status_due)
            break; /* the server asked for a status update: let the caller tick */
    }
    return HDP_OK;
}

int cdc_tick(cdc_consumer *c, int idle, hdp_err *e)
{
    if (!c->started)
        return HDP_OK;
    int rc = pg_stream_tick(&c->stream, idle && !c->in_tx, e);
    if (rc == HDP_OK)
        rc = pg_stream_heartbeat(c->sql, c->in_tx, c->segment, c->segment_seconds,
                                 &c->last_heartbeat_us, e);
    return rc;
}

void cdc_confirm(cdc_consumer *c, uint64_t lsn)
{
    if (c->started)
        pg_stream_confirm(&c->stream, lsn);
}

int cdc_in_tx(const cdc_consumer *c)
{
    return c->in_tx;
}

PGconn *cdc_sql(cdc_consumer *c)
{
    return c->started ? c->sql : NULL;
}

uint64_t cdc_server_lsn(const cdc_consumer *c)
{
    return c->stream.server_end;
}

uint64_t cdc_slot_lsn(const cdc_consumer *c)
{
    return c->stream.slot_lsn;
}

int64_t cdc_segment(const cdc_consumer *c)
{
    return c->segment;
}

const char *cdc_slot(const cdc_consumer *c)
{
    return c->slot;
}
