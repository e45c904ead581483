#include "serve/sources.h"

int batch_read_day(void *ctx, const char *date, int has_w, long long w, day_agg *out, hdp_err *e)
{
    (void)ctx;
    (void)date;
    (void)w;
    (void)out;
    (void)e;
    /* TODO(batch): when has_w, sum the ClickHouse batch views of date over segments <= w
     * into out. Until the batch layer publishes W there is nothing to add. */
    (void)has_w;
    return HDP_OK;
}
