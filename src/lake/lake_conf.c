#include "lake/lake_conf.h"

hdp_lake_conf lake_conf_of(const hdp_config *cfg)
{
    hdp_lake_conf c = {
        .url = cfg->lake_url,
        .s3_endpoint = cfg->s3_endpoint,
        .s3_region = cfg->s3_region,
        .s3_access_key = cfg->s3_access_key,
        .s3_secret_key = cfg->s3_secret_key,
    };
    return c;
}

hdp_lake *lake_open_config(const hdp_config *cfg, hdp_err *e)
{
    hdp_lake_conf c = lake_conf_of(cfg);
    return lake_open(&c, e);
}
