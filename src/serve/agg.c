#include "serve/agg.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/decimal.h"
#include "io/redis.h"

void agg_init(day_agg *a)
{
    memset(a, 0, sizeof(*a));
}

void agg_map_free(agg_map *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->len; i++)
        free(m->items[i].name);
    free(m->items);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

void agg_free(day_agg *a)
{
    if (a == NULL)
        return;
    agg_map_free(&a->cities);
    agg_map_free(&a->categories);
}

/* FNV-1a */
static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static void map_rehash(agg_map *m, size_t nslots)
{
    free(m->slots);
    m->slots = xcalloc(nslots, sizeof(*m->slots));
    m->nslots = nslots;
    for (size_t i = 0; i < m->len; i++) {
        const char *nm = m->items[i].name;
        size_t s = hash_bytes(nm, strlen(nm)) & (nslots - 1);
        while (m->slots[s] != 0)
            s = (s + 1) & (nslots - 1);
        m->slots[s] = (uint32_t)(i + 1);
    }
}

agg_named *agg_map_get(agg_map *m, const char *name, size_t n)
{
    if (m->nslots == 0)
        map_rehash(m, 64);
    size_t s = hash_bytes(name, n) & (m->nslots - 1);
    while (m->slots[s] != 0) {
        agg_named *it = &m->items[m->slots[s] - 1];
        if (strncmp(it->name, name, n) == 0 && it->name[n] == '\0')
            return it;
        s = (s + 1) & (m->nslots - 1);
    }
    if (m->len == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 32;
        m->items = xrealloc(m->items, m->cap * sizeof(*m->items));
    }
    agg_named *it = &m->items[m->len++];
    it->name = xstrndup(name, n);
    it->cents = 0;
    it->paid = 0;
    it->orders = 0;
    if (m->len * 2 > m->nslots)
        map_rehash(m, m->nslots * 2);
    else
        m->slots[s] = (uint32_t)m->len;
    return it;
}

/* Two ASCII digits forming a number below lim; -1 when not. */
static int two_digits(const char *p, int lim)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
        return -1;
    int v = (p[0] - '0') * 10 + (p[1] - '0');
    return v < lim ? v : -1;
}

/* "HH" -> hour, or -1 */
static int parse_hour(const char *s, size_t n)
{
    return n == 2 ? two_digits(s, 24) : -1;
}

/* "HH:MM" -> minute of day, or -1 */
static int parse_minute(const char *s, size_t n)
{
    if (n != 5 || s[2] != ':')
        return -1;
    int h = two_digits(s, 24);
    int m = two_digits(s + 3, 60);
    return h < 0 || m < 0 ? -1 : h * 60 + m;
}

/* *acc += v; on overflow returns -1 and leaves *acc as it was */
static int add_to(int64_t *acc, int64_t v)
{
    int64_t sum;
    if (decimal_add(*acc, v, &sum) != 0)
        return -1;
    *acc = sum;
    return 0;
}

static int starts(const char *name, size_t nlen, const char *prefix, size_t plen)
{
    return nlen >= plen && memcmp(name, prefix, plen) == 0;
}

int agg_add_field(day_agg *a, const char *name, size_t nlen, const char *val, size_t vlen,
                  hdp_err *e)
{
    long long v;
    if (redis_parse_i64(val, vlen, &v) != 0)
        return hdp_fail(e, "field '%.*s': value '%.*s' is not an integer", (int)nlen, name,
                        (int)(vlen > 40 ? 40 : vlen), val);
    int bad = 0, ovf = 0;
    int idx;
#define IS(lit)     (nlen == sizeof(lit) - 1 && memcmp(name, lit, nlen) == 0)
#define PREFIX(lit) starts(name, nlen, lit, sizeof(lit) - 1)
#define SUFFIX(lit) (name + sizeof(lit) - 1), (nlen - (sizeof(lit) - 1))
    if (IS("paid")) {
        ovf = add_to(&a->paid, v);
    } else if (IS("refunded")) {
        ovf = add_to(&a->refunded, v);
    } else if (IS("orders")) {
        ovf = add_to(&a->orders, v);
    } else if (IS("refunds")) {
        ovf = add_to(&a->refunds, v);
    } else if (PREFIX("h:") || PREFIX("hn:")) {
        int cnt = name[1] == 'n';
        idx = cnt ? parse_hour(SUFFIX("hn:")) : parse_hour(SUFFIX("h:"));
        bad = idx < 0;
        if (!bad) {
            a->hour_seen[idx] = 1;
            ovf = add_to(cnt ? &a->hour_orders[idx] : &a->hour_cents[idx], v);
        }
    } else if (PREFIX("m:") || PREFIX("mn:")) {
        int cnt = name[1] == 'n';
        idx = cnt ? parse_minute(SUFFIX("mn:")) : parse_minute(SUFFIX("m:"));
        bad = idx < 0;
        if (!bad) {
            a->min_seen[idx] = 1;
            ovf = add_to(cnt ? &a->min_orders[idx] : &a->min_cents[idx], v);
        }
    } else if (PREFIX("c:") || PREFIX("cn:") || PREFIX("cp:") || PREFIX("k:") || PREFIX("kn:")) {
        int cnt = name[1] == 'n', paid = name[1] == 'p';
        size_t skip = cnt || paid ? 3 : 2;
        agg_named *it =
            agg_map_get(name[0] == 'c' ? &a->cities : &a->categories, name + skip, nlen - skip);
        ovf = add_to(cnt ? &it->orders : paid ? &it->paid : &it->cents, v);
    }
#undef IS
#undef PREFIX
#undef SUFFIX
    if (bad)
        return hdp_fail(e, "field '%.*s': malformed time bucket", (int)nlen, name);
    if (ovf)
        return hdp_fail(e, "field '%.*s': sum overflows", (int)nlen, name);
    return HDP_OK;
}

static int merge_map(agg_map *dst, const agg_map *src)
{
    for (size_t i = 0; i < src->len; i++) {
        const agg_named *s = &src->items[i];
        agg_named *d = agg_map_get(dst, s->name, strlen(s->name));
        if (add_to(&d->cents, s->cents) || add_to(&d->orders, s->orders) ||
            add_to(&d->paid, s->paid))
            return -1;
    }
    return 0;
}

int agg_merge(day_agg *a, const day_agg *b, hdp_err *e)
{
    int ovf = add_to(&a->paid, b->paid) | add_to(&a->refunded, b->refunded) |
              add_to(&a->orders, b->orders) | add_to(&a->refunds, b->refunds) |
              add_to(&a->segments, b->segments);
    for (int i = 0; i < AGG_HOURS; i++) {
        ovf |= add_to(&a->hour_cents[i], b->hour_cents[i]);
        ovf |= add_to(&a->hour_orders[i], b->hour_orders[i]);
        a->hour_seen[i] |= b->hour_seen[i];
    }
    for (int i = 0; i < AGG_MINUTES; i++) {
        ovf |= add_to(&a->min_cents[i], b->min_cents[i]);
        ovf |= add_to(&a->min_orders[i], b->min_orders[i]);
        a->min_seen[i] |= b->min_seen[i];
    }
    ovf |= merge_map(&a->cities, &b->cities);
    ovf |= merge_map(&a->categories, &b->categories);
    return ovf ? hdp_fail(e, "merging aggregates overflows") : HDP_OK;
}

int agg_net(const day_agg *a, int64_t *net)
{
    return __builtin_sub_overflow(a->paid, a->refunded, net) ? -1 : 0;
}
