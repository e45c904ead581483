#include "core/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int64_t days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static int days_in_month(int y, unsigned m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

/* Reads exactly `w` digits at s[*i]. */
static int digits(const char *s, size_t n, size_t *i, int w, int *out)
{
    int v = 0;
    for (int k = 0; k < w; k++) {
        if (*i >= n || s[*i] < '0' || s[*i] > '9')
            return -1;
        v = v * 10 + (s[(*i)++] - '0');
    }
    *out = v;
    return 0;
}

static int parse_ymd(const char *s, size_t n, size_t *i, int64_t *day)
{
    int y, mo, d;
    if (digits(s, n, i, 4, &y) || *i >= n || s[(*i)++] != '-' || digits(s, n, i, 2, &mo) ||
        *i >= n || s[(*i)++] != '-' || digits(s, n, i, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (unsigned)mo))
        return -1;
    *day = days_from_civil(y, (unsigned)mo, (unsigned)d);
    return 0;
}

int date_parse(const char *s, int64_t *day)
{
    size_t n = 0;
    while (n < 16 && s[n])
        n++;
    size_t i = 0;
    if (parse_ymd(s, n, &i, day) || i != n)
        return -1;
    return 0;
}

int ts_parse(const char *s, size_t n, int64_t *unix_us)
{
    size_t i = 0;
    int64_t day;
    int hh, mi, ss;
    if (parse_ymd(s, n, &i, &day))
        return -1;
    if (i >= n || (s[i] != ' ' && s[i] != 'T'))
        return -1;
    i++;
    if (digits(s, n, &i, 2, &hh) || i >= n || s[i++] != ':' || digits(s, n, &i, 2, &mi) || i >= n ||
        s[i++] != ':' || digits(s, n, &i, 2, &ss))
        return -1;
    if (hh > 23 || mi > 59 || ss > 60)
        return -1;
    int64_t frac = 0;
    if (i < n && s[i] == '.') {
        i++;
        int k = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (k < 6) {
                frac = frac * 10 + (s[i] - '0');
                k++;
            }
            i++;
        }
        if (k == 0)
            return -1;
        while (k++ < 6)
            frac *= 10;
    }
    int64_t off = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i++] == '-' ? -1 : 1;
        int oh, om = 0, os = 0;
        if (digits(s, n, &i, 2, &oh))
            return -1;
        if (i < n && s[i] == ':') {
            i++;
            if (digits(s, n, &i, 2, &om))
                return -1;
            if (i < n && s[i] == ':') {
                i++;
                if (digits(s, n, &i, 2, &os))
                    return -1;
            }
        }
        off = sign * ((int64_t)oh * 3600 + om * 60 + os);
    } else if (i < n && s[i] == 'Z') {
        i++;
    }
    if (i != n)
        return -1;
    int64_t secs = day * 86400 + hh * 3600 + mi * 60 + ss - off;
    *unix_us = secs * USEC_PER_SEC + frac;
    return 0;
}

void date_format(int64_t day, char out[11])
{
    int y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    if (y < 0) { /* before year 0: rare, and printf's sign rules are the contract */
        char tmp[48];
        snprintf(tmp, sizeof(tmp), "%04d-%02u-%02u", y % 10000, m % 100, d % 100);
        memcpy(out, tmp, 10);
        out[10] = '\0';
        return;
    }
    /* by hand: the API formats two dates a request, and snprintf was a tenth of its time */
    unsigned yy = (unsigned)y % 10000;
    out[0] = (char)('0' + yy / 1000);
    out[1] = (char)('0' + yy / 100 % 10);
    out[2] = (char)('0' + yy / 10 % 10);
    out[3] = (char)('0' + yy % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10 % 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10 % 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}

/* Two digits of v (0..99) at p. */
static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

void ts_format(int64_t unix_us, char out[32])
{
    int64_t day = floor_div(unix_us, USEC_PER_DAY);
    int64_t rem = unix_us - day * USEC_PER_DAY;
    int y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    unsigned secs = (unsigned)(rem / USEC_PER_SEC), us = (unsigned)(rem % USEC_PER_SEC);
    if (y < 0) { /* before year 0: rare, and printf's sign rules are the contract */
        char tmp[96];
        snprintf(tmp, sizeof(tmp), "%04d-%02u-%02uT%02u:%02u:%02u.%06uZ", y % 10000, m, d,
                 secs / 3600, secs / 60 % 60, secs % 60, us);
        snprintf(out, 32, "%.27s", tmp);
        return;
    }
    /* by hand: the vault hashes a few timestamps a row, and snprintf was 7 % of its time */
    date_format(day, out);
    out[10] = 'T';
    put2(out + 11, secs / 3600);
    out[13] = ':';
    put2(out + 14, secs / 60 % 60);
    out[16] = ':';
    put2(out + 17, secs % 60);
    out[19] = '.';
    for (int i = 25; i >= 20; i--, us /= 10)
        out[i] = (char)('0' + us % 10);
    out[26] = 'Z';
    out[27] = '\0';
}

int64_t now_unix_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}
