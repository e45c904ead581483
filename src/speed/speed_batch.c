#include "speed/speed_batch.h"

#include <string.h>

#include "core/timeutil.h"

void speed_batch_init(speed_batch *b)
{
    memset(b, 0, sizeof(*b));
    b->segment = -1;
}

void speed_batch_free(speed_batch *b)
{
    strmap_free(&b->deltas);
    strmap_free(&b->segdays);
    buf_free(&b->quarantine);
}

void speed_batch_reset(speed_batch *b)
{
    strmap_clear(&b->deltas);
    strmap_clear(&b->segdays);
    buf_reset(&b->quarantine);
    b->nquarantine = 0;
    b->ntx = 0;
    b->opened_us = 0;
}

/* Writes "SEG\x1fYYYY-MM-DD" into key; returns its length. */
static size_t segday_key(char *key, int64_t seg, int64_t day)
{
    char tmp[24];
    char *p = tmp + sizeof(tmp);
    uint64_t u = (uint64_t)seg;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t n = (size_t)(tmp + sizeof(tmp) - p);
    memcpy(key, p, n);
    key[n++] = '\x1f';
    date_format(day, key + n);
    return n + 10;
}

void speed_batch_add(speed_batch *b, int64_t seg, int64_t day, const char *field, size_t flen,
                     int64_t delta)
{
    char key[320];
    if (flen > 256)
        flen = 256;
    size_t n = segday_key(key, seg, day);
    strmap_add(&b->segdays, key, n, 1);
    key[n++] = '\x1f';
    memcpy(key + n, field, flen);
    strmap_add(&b->deltas, key, n + flen, delta);
}

void speed_batch_quarantine(speed_batch *b, uint64_t lsn, const char *table, const char *reason,
                            const char *detail_json)
{
    buf_printf(&b->quarantine, "{\"lsn\":%llu,\"table\":", (unsigned long long)lsn);
    buf_put_json_str(&b->quarantine, table, strlen(table));
    buf_puts(&b->quarantine, ",\"reason\":");
    buf_put_json_str(&b->quarantine, reason, strlen(reason));
    if (detail_json) {
        buf_puts(&b->quarantine, ",\"record\":");
        buf_puts(&b->quarantine, detail_json);
    }
    buf_puts(&b->quarantine, "}\n");
    b->nquarantine++;
}
