/* ipns_time.c: the Validity of an IPNS record, RFC 3339 with nanoseconds, read and written.
 * boxo reads and writes it with Go's time.RFC3339Nano layout (boxo util/time.go): writing gives
 * "2006-01-02T15:04:05.999999999Z" in UTC with the fraction's trailing zeros dropped (and no dot
 * when it is zero); reading accepts 1..9 fraction digits and a "Z" or numeric offset, and checks
 * each field's range, the day against its month. The same rules here, with no clock and no libc
 * time zone: days are counted with the proleptic Gregorian civil-from-days algorithm (Howard
 * Hinnant, "chrono-Compatible Low-Level Date Algorithms"), so years 0000..9999 all work.
 */
#include "fog/ipns.h"

#include <stdio.h>

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned month_days(int64_t y, unsigned m)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* n decimal digits at s[*i], advancing *i; -1 when one is not a digit. */
static int64_t digits(const uint8_t *s, size_t len, size_t *i, size_t n)
{
    int64_t v = 0;
    if (n > len - *i) {
        return -1;
    }
    for (size_t k = 0; k < n; k++) {
        uint8_t c = s[*i + k];
        if (c < '0' || c > '9') {
            return -1;
        }
        v = v * 10 + (c - '0');
    }
    *i += n;
    return v;
}

static bool lit(const uint8_t *s, size_t len, size_t *i, char c)
{
    if (*i < len && s[*i] == (uint8_t)c) {
        (*i)++;
        return true;
    }
    return false;
}

/* The fraction after a '.', 1..9 digits, as nanoseconds; -1 when malformed. */
static int64_t fraction(const uint8_t *s, size_t len, size_t *i)
{
    int64_t ns = 0;
    size_t n = 0;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
        if (++n > 9) {
            return -1;
        }
        ns = ns * 10 + (s[*i] - '0');
        (*i)++;
    }
    if (n == 0) {
        return -1;
    }
    for (; n < 9; n++) {
        ns *= 10;
    }
    return ns;
}

/* "Z", or "+HH:MM" / "-HH:MM" as seconds east of UTC; INT64_MIN when malformed. */
static int64_t zone(const uint8_t *s, size_t len, size_t *i)
{
    if (lit(s, len, i, 'Z')) {
        return 0;
    }
    int64_t sign = lit(s, len, i, '+') ? 1 : lit(s, len, i, '-') ? -1 : 0;
    int64_t hh = sign != 0 ? digits(s, len, i, 2) : -1;
    int64_t mm = hh >= 0 && lit(s, len, i, ':') ? digits(s, len, i, 2) : -1;
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59) {
        return INT64_MIN;
    }
    return sign * (hh * 3600 + mm * 60);
}

int fog_ipns_time_parse(const uint8_t *s, size_t len, fog_ipns_time *out)
{
    size_t i = 0;
    int64_t y = digits(s, len, &i, 4);
    int64_t mo = lit(s, len, &i, '-') ? digits(s, len, &i, 2) : -1;
    int64_t d = lit(s, len, &i, '-') ? digits(s, len, &i, 2) : -1;
    int64_t h = lit(s, len, &i, 'T') ? digits(s, len, &i, 2) : -1;
    int64_t mi = lit(s, len, &i, ':') ? digits(s, len, &i, 2) : -1;
    int64_t sec = lit(s, len, &i, ':') ? digits(s, len, &i, 2) : -1;
    int64_t ns = lit(s, len, &i, '.') ? fraction(s, len, &i) : 0;
    int64_t off = zone(s, len, &i);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
        sec > 59 || ns < 0 || off == INT64_MIN || i != len ||
        d > (int64_t)month_days(y, (unsigned)mo)) {
        return FOG_ERR_PROTO;
    }
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    out->sec = days * 86400 + h * 3600 + mi * 60 + sec - off;
    out->nsec = (uint32_t)ns;
    return 0;
}

#define SEC_MIN (-62167219200LL) /* 0000-01-01T00:00:00Z */
#define SEC_MAX 253402300799LL   /* 9999-12-31T23:59:59Z */

int fog_ipns_time_format(fog_ipns_time t, char out[FOG_IPNS_TIME_STR_MAX])
{
    if (t.sec < SEC_MIN || t.sec > SEC_MAX || t.nsec > 999999999) {
        return FOG_ERR_INVALID;
    }
    int64_t days = t.sec >= 0 ? t.sec / 86400 : -((-t.sec + 86399) / 86400);
    int64_t rem = t.sec - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int n = snprintf(out, FOG_IPNS_TIME_STR_MAX, "%04d-%02u-%02uT%02d:%02d:%02d", (int)y, m, d,
                     (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
    if (t.nsec != 0) {
        char frac[11];
        snprintf(frac, sizeof frac, ".%09u", (unsigned)t.nsec);
        int k = 10;
        while (frac[k - 1] == '0') {
            k--;
        }
        frac[k] = '\0';
        n += snprintf(out + n, FOG_IPNS_TIME_STR_MAX - (size_t)n, "%s", frac);
    }
    n += snprintf(out + n, FOG_IPNS_TIME_STR_MAX - (size_t)n, "Z");
    return n;
}

fog_ipns_time fog_ipns_time_from_ns(int64_t unix_ns)
{
    fog_ipns_time t;
    t.sec = unix_ns / 1000000000;
    int64_t ns = unix_ns % 1000000000;
    if (ns < 0) {
        ns += 1000000000;
        t.sec -= 1;
    }
    t.nsec = (uint32_t)ns;
    return t;
}

int fog_ipns_time_cmp(fog_ipns_time a, fog_ipns_time b)
{
    if (a.sec != b.sec) {
        return a.sec < b.sec ? -1 : 1;
    }
    if (a.nsec != b.nsec) {
        return a.nsec < b.nsec ? -1 : 1;
    }
    return 0;
}
