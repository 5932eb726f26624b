/* resp: the Redis serialization protocol as it crosses a client port,
 * decoded from a TCP byte stream that arrives in pieces of any size:
 * requests (arrays of bulk strings, or inline commands split like a shell
 * line) and replies (RESP2 and RESP3: simple and blob strings, errors,
 * integers, doubles, booleans, big numbers, nulls, verbatim strings,
 * arrays, maps, sets, pushes and attributes, nested). Depends on nothing
 * else in rift. */
#ifndef RIFT_RESP_H
#define RIFT_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESP_MAX_MSG (64u << 20)   /* bytes: a bigger message ends the stream's decoding */
#define RESP_MAX_ARGS (1 << 20)    /* arguments of one request */
#define RESP_MAX_DEPTH 64          /* nesting of a reply */
#define RESP_MAX_INLINE (64 << 10) /* an inline command's line */

/* One top-level message. Pointers point into the stream's buffer and are
 * valid only during the callback. */
struct resp_msg {
    bool request;
    bool inline_cmd; /* request: an inline command, not an array */
    /* request: the arguments (argv[0] is the command, as sent) */
    int argc;
    const char *const *argv;
    const size_t *argl;
    /* reply: its type byte ('+', '-', ':', '$', '*', '!', '%', '>', ...)
     * after any attribute, and for strings and errors their text */
    char type;
    const char *str;
    size_t len;
    bool null;
    size_t bytes; /* on the wire */
};

enum resp_state { RESP_OK, RESP_BAD, RESP_TOO_BIG };

struct resp_stream {
    bool request; /* client -> server */
    enum resp_state state;
    char why[96];    /* RESP_BAD, RESP_TOO_BIG: what was wrong */
    uint64_t offset; /* stream bytes consumed before buf */
    char *buf;
    size_t len, cap;
    size_t need; /* do not parse again before len reaches this */
    /* request arguments, reused */
    const char **argv;
    size_t *argl;
    char *inl; /* an inline command's unquoted arguments */
    int args_cap;
};

/* A value read with resp_next: scalars whole, aggregates by their header. */
struct resp_val {
    char type;       /* '+', '-', ':', '$', '*', '%', ... (never '|': skipped) */
    const char *str; /* strings, errors, numbers: the text */
    size_t len;
    long long n; /* ':' its value; aggregates: elements to follow (a map: 2 per pair) */
    bool null;
};

typedef void (*resp_fn)(void *ctx, const struct resp_msg *m);

void resp_init(struct resp_stream *s, bool request);
void resp_free(struct resp_stream *s);
/* Feeds the next n bytes of the stream; on_msg gets each complete message
 * in order. Returns the number of messages, or -1 once the stream is bad
 * or too big (s->why says why; later bytes are ignored). */
int resp_feed(struct resp_stream *s, const void *data, size_t n, resp_fn on_msg, void *ctx);

/* Parses one message at the start of buf: 1 (m filled, *used bytes), 0
 * incomplete (*used: the least total length worth trying again), -1
 * invalid (why). For requests s supplies the argument arrays. */
int resp_parse(struct resp_stream *s, const char *buf, size_t len, struct resp_msg *m,
               size_t *used);

/* Pull-style reading of a complete reply in buf, for walking a known
 * shape (COMMAND's): reads the value at *pos and moves past its header
 * (past the whole of a scalar). 1, or -1 when buf holds no valid value
 * there. resp_skip moves past a whole value, nested ones included: 0/-1. */
int resp_next(const char *buf, size_t len, size_t *pos, struct resp_val *v);
int resp_skip(const char *buf, size_t len, size_t *pos);

#endif
