/* fuzz_resp: libFuzzer harness for the RESP decoder. The first byte picks
 * the direction (even: requests, odd: replies) and the piece sizes; the
 * rest is the stream. Fed at once and fed in pieces, the stream must give
 * the same messages (count, and a hash of each message's arguments or type
 * and text), end in the same state, and keep every length within what was
 * fed. Anything else traps. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/resp.h"

struct seen {
    uint64_t hash, bytes;
    int n;
    size_t fed;
};

static void mix(struct seen *S, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        S->hash = (S->hash ^ c[i]) * 1099511628211ull;
}

static void record(void *ctx, const struct resp_msg *m)
{
    struct seen *S = ctx;
    S->n++;
    S->bytes += m->bytes;
    if (m->bytes == 0 || m->bytes > S->fed)
        __builtin_trap();
    if (m->request) {
        if (m->argc < 1)
            __builtin_trap();
        for (int i = 0; i < m->argc; i++) {
            if (m->argl[i] > m->bytes && !m->inline_cmd)
                __builtin_trap();
            mix(S, m->argv[i], m->argl[i]);
            mix(S, "|", 1);
        }
    } else {
        mix(S, &m->type, 1);
        if (m->len > m->bytes)
            __builtin_trap();
        if (m->str)
            mix(S, m->str, m->len);
    }
}

static int run(bool request, const uint8_t *d, size_t n, unsigned piece, struct seen *S,
               enum resp_state *st)
{
    struct resp_stream s;
    int total = 0;
    resp_init(&s, request);
    memset(S, 0, sizeof(*S));
    for (size_t off = 0; off < n;) {
        size_t k = piece ? (n - off < piece ? n - off : piece) : n;
        S->fed += k;
        int rc = resp_feed(&s, d + off, k, record, S);
        if (rc < 0)
            break;
        total += rc;
        off += k;
    }
    *st = s.state;
    if (S->bytes > S->fed)
        __builtin_trap();
    resp_free(&s);
    return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seen a, b;
    enum resp_state sa, sb;
    if (size < 1)
        return 0;
    bool request = !(data[0] & 1);
    unsigned piece = 1 + (data[0] >> 1) % 13;
    int na = run(request, data + 1, size - 1, 0, &a, &sa);
    int nb = run(request, data + 1, size - 1, piece, &b, &sb);
    /* a bad stream may be found bad at another message count only if the
     * messages before it agree: compare what both decoded */
    if (sa != sb || (sa == RESP_OK && (na != nb || a.hash != b.hash || a.n != b.n)))
        __builtin_trap();
    if (sa != RESP_OK && (a.n != b.n || a.hash != b.hash))
        __builtin_trap();
    return 0;
}
