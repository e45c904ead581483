/* codec.h — page compression for Parquet: none, Snappy and Zstandard.
 *
 * The numbers are Parquet's CompressionCodec values, so they go to the footer as they are. */
#ifndef HDP_CODEC_H
#define HDP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

typedef enum { PQ_CODEC_NONE = 0, PQ_CODEC_SNAPPY = 1, PQ_CODEC_ZSTD = 6 } pq_codec;

/* Reusable zstd contexts (allocation and table setup cost more than a small page).
 * Zero-initialise; pq_codec_ctx_free releases. A NULL ctx means one-shot contexts. */
typedef struct pq_codec_ctx {
    void *zc; /* ZSTD_CCtx */
    void *zd; /* ZSTD_DCtx */
} pq_codec_ctx;

void pq_codec_ctx_free(pq_codec_ctx *ctx);

/* Name for messages ("zstd"); "?" for unknown numbers. */
const char *pq_codec_name(int codec);

/* Appends the compressed form of src[0..n) to out. level is used by zstd only (0 = the
 * library default). */
int pq_compress(pq_codec_ctx *ctx, pq_codec c, int level, const void *src, size_t n, hdp_buf *out,
                hdp_err *e);

/* Decompresses src[0..n) into dst, which must come out exactly dst_len bytes long (the page
 * header's uncompressed size). Corrupt input returns HDP_ERR, never writes past dst_len. */
int pq_decompress(pq_codec_ctx *ctx, int codec, const void *src, size_t n, void *dst,
                  size_t dst_len, hdp_err *e);

#endif
