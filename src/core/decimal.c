#include "core/decimal.h"

#include <string.h>

int decimal_parse(const char *s, size_t n, int64_t *cents)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    uint64_t whole = 0;
    size_t int_digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        if (whole > (UINT64_MAX - 9) / 10)
            return -1;
        whole = whole * 10 + (uint64_t)(s[i++] - '0');
        int_digits++;
    }
    uint64_t frac = 0;
    size_t frac_digits = 0;
    int below_cent = 0;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            int d = s[i++] - '0';
            if (frac_digits < 2)
                frac = frac * 10 + (uint64_t)d;
            else if (d != 0)
                below_cent = 1;
            frac_digits++;
        }
    }
    if (i != n || int_digits + frac_digits == 0)
        return -1;
    if (below_cent)
        return DECIMAL_INEXACT;
    if (frac_digits == 1)
        frac *= 10;
    if (whole > (uint64_t)INT64_MAX / 100)
        return -1;
    uint64_t v = whole * 100 + frac;
    if (v > (uint64_t)INT64_MAX)
        return -1;
    *cents = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

int decimal_parse_money(const char *s, size_t n, int64_t *cents, const char **why)
{
    int rc = decimal_parse(s, n, cents);
    if (rc == DECIMAL_INEXACT) {
        *why = "finer than a cent (does not fit NUMERIC(12,2) exactly)";
        return -1;
    }
    if (rc != 0) {
        *why = "not a decimal";
        return -1;
    }
    if (*cents > DECIMAL_12_2_MAX_CENTS || *cents < -DECIMAL_12_2_MAX_CENTS) {
        *why = "exceeds NUMERIC(12,2)";
        return -1;
    }
    return 0;
}

size_t decimal_format(int64_t cents, char *out)
{
    char tmp[32];
    char *p = tmp + sizeof(tmp);
    uint64_t u = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    *--p = (char)('0' + u % 10);
    u /= 10;
    *--p = (char)('0' + u % 10);
    u /= 10;
    *--p = '.';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (cents < 0)
        *--p = '-';
    size_t n = (size_t)(tmp + sizeof(tmp) - p);
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}

void decimal_put(hdp_buf *b, int64_t cents)
{
    char tmp[32];
    buf_append(b, tmp, decimal_format(cents, tmp));
}

int decimal_add(int64_t a, int64_t b, int64_t *sum)
{
    return __builtin_add_overflow(a, b, sum) ? -1 : 0;
}

int decimal_mul_qty(int64_t cents, int64_t qty, int64_t *out)
{
    return __builtin_mul_overflow(cents, qty, out) ? -1 : 0;
}
