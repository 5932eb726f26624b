/* value: the policy's value parsers (times, durations, probabilities,
 * rates, addresses), below the key table and the loader. */
#include "value.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int parse_number(const char *s, double *v, const char **unit)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(*v) || *v < 0)
        return -1;
    while (*end == ' ' || *end == '\t')
        end++;
    *unit = end;
    return 0;
}

struct unit {
    const char *name;
    double mul;
};

/* The multiplier of a unit from a table (case as given), or -1. */
static double unit_mul(const struct unit *t, const char *u, bool nocase)
{
    for (; t->name; t++)
        if (nocase ? !strcasecmp(u, t->name) : !strcmp(u, t->name))
            return t->mul;
    return -1;
}

int pol_parse_time(const char *s, uint64_t *ns)
{
    static const struct unit units[] = {{"s", 1e9}, {"ms", 1e6}, {"us", 1e3}, {"ns", 1}, {NULL, 0}};
    double v, mul;
    const char *u;
    if (parse_number(s, &v, &u) < 0)
        return -1;
    mul = *u == '\0' && v == 0 ? 0 : unit_mul(units, u, false); /* a bare 0 is allowed */
    if (mul < 0 || v * mul > 86400e9)
        return -1;
    *ns = (uint64_t)llround(v * mul);
    return 0;
}

int pol_parse_duration(const char *s, uint64_t *ns)
{
    size_t n = strlen(s);
    if (n && (s[n - 1] == 'm' || s[n - 1] == 'h') && (n < 2 || s[n - 2] != 'm')) {
        char *end;
        double v;
        errno = 0;
        v = strtod(s, &end);
        if (end != s + n - 1 || errno || !(v >= 0) || v > 1e6)
            return -1;
        *ns = (uint64_t)(v * (s[n - 1] == 'm' ? 60e9 : 3600e9));
        return 0;
    }
    return pol_parse_time(s, ns);
}

int pol_parse_prob(const char *s, uint64_t *p)
{
    double v;
    const char *u;
    if (parse_number(s, &v, &u) < 0 || strcmp(u, "%") != 0 || v > 100)
        return -1;
    *p = (uint64_t)llround(v / 100.0 * (double)POL_P_ONE);
    return 0;
}

int pol_parse_rate(const char *s, uint64_t *bps)
{
    static const struct unit units[] = {
        {"bit", 1}, {"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}, {NULL, 0}};
    double v, mul;
    const char *u;
    if (parse_number(s, &v, &u) < 0 || (mul = unit_mul(units, u, true)) < 0)
        return -1;
    if (v * mul < 8 || v * mul > 1e12)
        return -1;
    *bps = (uint64_t)llround(v * mul);
    return 0;
}

int pol_parse_addr(const char *s, uint32_t *ip, uint16_t *port)
{
    char host[64];
    const char *colon = strchr(s, ':');
    size_t n = colon ? (size_t)(colon - s) : strlen(s);
    struct in_addr a;
    if (n == 0 || n >= sizeof(host))
        return -1;
    memcpy(host, s, n);
    host[n] = '\0';
    if (inet_pton(AF_INET, host, &a) != 1)
        return -1;
    *ip = ntohl(a.s_addr);
    *port = 0;
    if (colon) {
        char *end;
        long v;
        errno = 0;
        v = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end || errno || v < 1 || v > 55535)
            return -1;
        *port = (uint16_t)v;
    }
    return 0;
}

int val_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

void val_join(char *out, size_t len, const char *const *names, size_t n)
{
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && names[i] && off < len; i++) /* off past len: stop */
        off += (size_t)snprintf(out + off, len - off, "%s%s", i ? ", " : "", names[i]);
}
