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
    const char *raw; /* the message as it came, bytes long */
    size_t bytes;    /* on the wire */
};

enum resp_state { RESP_OK, RESP_BAD, RESP_TOO_BIG };

/* How far the decoding of an incomplete message got (offsets from its
 * first byte), so that more bytes are read once, not again from the
 * start: the values or arguments read whole, and how far the line after
 * them was searched for its end. */
struct resp_cur {
    bool started;
    size_t at;        /* bytes read whole */
    size_t line_from; /* the search for the CRLF of the line at `at` goes on here */
    /* reply: values still to come at each open level (0: the message
     * itself), and the level whose last value is the one the message
     * reports (-1 once read; the levels before it are attributes) */
    int level, m_level;
    long long left[RESP_MAX_DEPTH + 1];
    char m_type;
    bool m_null, m_str;
    size_t m_off, m_len;
    /* request: arguments announced and read */
    long long argn;
    int argi;
};

struct resp_stream {
    bool request; /* client -> server */
    enum resp_state state;
    char why[96];    /* RESP_BAD, RESP_TOO_BIG: what was wrong */
    uint64_t offset; /* stream bytes consumed before buf */
    char *buf;
    size_t len, cap;
    size_t need; /* do not parse again before len reaches this */
    struct resp_cur cur;
    /* request arguments, reused; argo: their offsets in the message */
    const char **argv;
    size_t *argl, *argo;
    char *inl; /* an inline command's unquoted arguments */
    int args_cap;
    uint64_t scanned; /* bytes looked at in search of a line's end: the decoder's work */
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

/* Parses one message at the start of buf, from its first byte: 1 (m
 * filled, *used bytes), 0 incomplete (*used: the least total length worth
 * trying again), -1 invalid (why). For requests s supplies the argument
 * arrays. */
int resp_parse(struct resp_stream *s, const char *buf, size_t len, struct resp_msg *m,
               size_t *used);

/* Pull-style reading of a complete reply in buf, for walking a known
 * shape (COMMAND's): reads the value at *pos and moves past its header
 * (past the whole of a scalar). 1, or -1 when buf holds no valid value
 * there. resp_skip moves past a whole value, nested ones included: 0/-1. */
int resp_next(const char *buf, size_t len, size_t *pos, struct resp_val *v);
int resp_skip(const char *buf, size_t len, size_t *pos);

#endif
