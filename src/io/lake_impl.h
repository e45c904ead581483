/* lake_impl.h — what a lake backend provides; only lake.c and the backends include it.
 *
 * lake.c checks keys and arguments before calling a backend, so backends get valid keys and
 * non-NULL pointers. Each backend owns its state behind `impl` and frees it in close. */
#ifndef HDP_IO_LAKE_IMPL_H
#define HDP_IO_LAKE_IMPL_H

#include "io/lake.h"

typedef struct lake_backend {
    const char *scheme; /* "file://" or "s3://" */
    /* Parses the URL's rest (after the scheme) and fills lk->impl and lk->desc. */
    int (*open)(hdp_lake *lk, const char *rest, const hdp_lake_conf *c, hdp_err *e);
    void (*close)(hdp_lake *lk);
    int (*ensure)(hdp_lake *lk, hdp_err *e);
    int (*put)(hdp_lake *lk, const char *key, const void *data, size_t len, hdp_err *e);
    int (*put_new)(hdp_lake *lk, const char *key, const void *data, size_t len, int *created,
                   hdp_err *e);
    int (*put_file)(hdp_lake *lk, const char *key, const char *path, hdp_err *e);
    int (*get)(hdp_lake *lk, const char *key, hdp_buf *out, hdp_err *e);
    int (*head)(hdp_lake *lk, const char *key, int *found, uint64_t *size, hdp_err *e);
    int (*del)(hdp_lake *lk, const char *key, hdp_err *e);
    int (*list)(hdp_lake *lk, const char *prefix, lake_list_cb cb, void *ctx, hdp_err *e);
} lake_backend;

struct hdp_lake {
    const lake_backend *be;
    void *impl;
    char *desc;
};

extern const lake_backend lake_file_backend;
extern const lake_backend lake_s3_backend;

#endif
