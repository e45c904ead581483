/* lake_conf.h — the lake as the configuration names it: the one place that turns
 * HDP_LAKE_URL and HDP_S3_* into what io/lake.h opens, so io/ needs no configuration. */
#ifndef HDP_LAKE_CONF_H
#define HDP_LAKE_CONF_H

#include "core/config.h"
#include "io/lake.h"

/* The lake of cfg, with the default tuning (lake_open's contract). */
hdp_lake *lake_open_config(const hdp_config *cfg, hdp_err *e);

/* cfg's lake settings (pointers into cfg: valid while it is). */
hdp_lake_conf lake_conf_of(const hdp_config *cfg);

#endif
