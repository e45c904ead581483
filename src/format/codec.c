#include "format/codec.h"

#include <snappy-c.h>
#include <string.h>
#include <zstd.h>

void pq_codec_ctx_free(pq_codec_ctx *ctx)
{
    if (ctx == NULL)
        return;
    ZSTD_freeCCtx(ctx->zc);
    ZSTD_freeDCtx(ctx->zd);
    ctx->zc = ctx->zd = NULL;
}

const char *pq_codec_name(int codec)
{
    switch (codec) {
    case PQ_CODEC_NONE:
        return "none";
    case PQ_CODEC_SNAPPY:
        return "snappy";
    case PQ_CODEC_ZSTD:
        return "zstd";
    case 2:
        return "gzip";
    case 4:
        return "brotli";
    case 5:
    case 7:
        return "lz4";
    default:
        return "?";
    }
}

int pq_compress(pq_codec_ctx *ctx, pq_codec c, int level, const void *src, size_t n, hdp_buf *out,
                hdp_err *e)
{
    switch (c) {
    case PQ_CODEC_NONE:
        buf_append(out, src, n);
        return HDP_OK;
    case PQ_CODEC_SNAPPY: {
        size_t cap = snappy_max_compressed_length(n);
        buf_reserve(out, cap);
        if (snappy_compress(src, n, out->data + out->len, &cap) != SNAPPY_OK)
            return hdp_fail(e, "snappy: compression failed");
        out->len += cap;
        out->data[out->len] = '\0';
        return HDP_OK;
    }
    case PQ_CODEC_ZSTD: {
        size_t cap = ZSTD_compressBound(n);
        buf_reserve(out, cap);
        size_t r;
        if (ctx) {
            if (ctx->zc == NULL)
                ctx->zc = ZSTD_createCCtx();
            if (ctx->zc == NULL)
                return hdp_fail(e, "zstd: out of memory");
            r = ZSTD_compressCCtx(ctx->zc, out->data + out->len, cap, src, n, level ? level : 3);
        } else {
            r = ZSTD_compress(out->data + out->len, cap, src, n, level ? level : 3);
        }
        if (ZSTD_isError(r))
            return hdp_fail(e, "zstd: %s", ZSTD_getErrorName(r));
        out->len += r;
        out->data[out->len] = '\0';
        return HDP_OK;
    }
    }
    return hdp_fail(e, "unknown codec %d", (int)c);
}

int pq_decompress(pq_codec_ctx *ctx, int codec, const void *src, size_t n, void *dst,
                  size_t dst_len, hdp_err *e)
{
    switch (codec) {
    case PQ_CODEC_NONE:
        if (n != dst_len)
            return hdp_fail(e, "uncompressed page: size %zu, header says %zu", n, dst_len);
        if (n)
            memcpy(dst, src, n);
        return HDP_OK;
    case PQ_CODEC_SNAPPY: {
        size_t len;
        if (snappy_uncompressed_length(src, n, &len) != SNAPPY_OK || len != dst_len)
            return hdp_fail(e, "snappy: bad length header");
        if (snappy_validate_compressed_buffer(src, n) != SNAPPY_OK)
            return hdp_fail(e, "snappy: corrupt data");
        if (snappy_uncompress(src, n, dst, &len) != SNAPPY_OK || len != dst_len)
            return hdp_fail(e, "snappy: corrupt data");
        return HDP_OK;
    }
    case PQ_CODEC_ZSTD: {
        /* pages may hold several concatenated frames; ZSTD_decompress handles that */
        size_t r;
        if (ctx) {
            if (ctx->zd == NULL)
                ctx->zd = ZSTD_createDCtx();
            if (ctx->zd == NULL)
                return hdp_fail(e, "zstd: out of memory");
            r = ZSTD_decompressDCtx(ctx->zd, dst, dst_len, src, n);
        } else {
            r = ZSTD_decompress(dst, dst_len, src, n);
        }
        if (ZSTD_isError(r))
            return hdp_fail(e, "zstd: %s", ZSTD_getErrorName(r));
        if (r != dst_len)
            return hdp_fail(e, "zstd: page is %zu bytes, header says %zu", r, dst_len);
        return HDP_OK;
    }
    default:
        return hdp_fail(e, "unsupported compression codec %d (%s)", codec, pq_codec_name(codec));
    }
}
