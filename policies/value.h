/* value: the policy's value parsers, exported for the loader, the key
 * table, the control protocol and tests. Each is 0, or -1 for a value it
 * does not take. */
#ifndef RIFT_VALUE_H
#define RIFT_VALUE_H

#include <stddef.h>
#include <stdint.h>

/* Probabilities are fixed point: POL_P_ONE means 100%. */
#define POL_P_ONE (UINT64_C(1) << 32)

/* "20ms", "1.5s", "250us", "10ns" or a bare 0; at most a day. */
int pol_parse_time(const char *s, uint64_t *ns);
/* A time as pol_parse_time takes it, or minutes and hours ("10m", "2h"):
 * durations of runs and waits. */
int pol_parse_duration(const char *s, uint64_t *ns);
int pol_parse_prob(const char *s, uint64_t *p);
int pol_parse_rate(const char *s, uint64_t *bps);
int pol_parse_addr(const char *s, uint32_t *ip, uint16_t *port);
/* A decimal integer lo..hi, digits only (no sign, no space), the whole
 * string. */
int val_parse_long(const char *s, long lo, long hi, long *out);
/* The first n of names, or all up to a NULL, joined with ", " into out
 * (len > 0): the list an unknown-key error gives. Cut short, never
 * overrun, when it does not fit. */
void val_join(char *out, size_t len, const char *const *names, size_t n);

#endif
