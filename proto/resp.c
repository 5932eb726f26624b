/* resp: incremental RESP2/RESP3 decoding of one direction of a client
 * connection. */
#include "resp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BULK (512ll << 20) /* proto-max-bulk-len's default */

/* The CRLF-terminated line at buf[pos]: index of its '\r', -1 when it is
 * not all there yet. */
static long line_end(const char *buf, size_t len, size_t pos)
{
    for (size_t i = pos; i + 1 < len; i++)
        if (buf[i] == '\r' && buf[i + 1] == '\n')
            return (long)i;
    return -1;
}

/* A whole decimal integer (optional '-') of buf[a..b): 0 or -1. */
static int parse_ll(const char *p, size_t n, long long *v)
{
    long long x = 0;
    bool neg = n > 0 && p[0] == '-';
    size_t i = neg;
    if (i == n || n > 20)
        return -1;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9' || x > (INT64_MAX - 9) / 10)
            return -1;
        x = x * 10 + (p[i] - '0');
    }
    *v = neg ? -x : x;
    return 0;
}

static int fail(struct resp_stream *s, const char *why)
{
    snprintf(s->why, sizeof(s->why), "%s", why);
    return -1;
}

static int grow_args(struct resp_stream *s, long long n)
{
    if (n <= s->args_cap)
        return 0;
    const char **a = realloc(s->argv, (size_t)n * sizeof(*a));
    if (!a)
        return -1;
    s->argv = a;
    size_t *l = realloc(s->argl, (size_t)n * sizeof(*l));
    if (!l)
        return -1;
    s->argl = l;
    s->args_cap = (int)n;
    return 0;
}

/* ---- requests ---- */

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The character "\e" stands for in double quotes. */
static char unescape(char e)
{
    switch (e) {
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'b':
        return '\b';
    case 'a':
        return '\a';
    default:
        return e;
    }
}

/* An inline command: words split at blanks; "double quotes" with \n \r \t
 * \b \a \\ \" \xHH, and 'single quotes' with \'. A quote must be followed
 * by a blank or the end. Unquoted words go to s->inl. */
static int split_inline(struct resp_stream *s, const char *p, size_t n, int *argc)
{
    char *o;
    size_t i = 0;
    int c = 0;
    free(s->inl);
    if (!(s->inl = malloc(n + 1)))
        return fail(s, "out of memory");
    o = s->inl;
    for (;;) {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
            i++;
        if (i == n)
            break;
        if (grow_args(s, c + 1) < 0)
            return fail(s, "out of memory");
        s->argv[c] = o;
        char *start = o;
        if (p[i] == '"' || p[i] == '\'') {
            char q = p[i++];
            for (;;) {
                if (i == n)
                    return fail(s, "unbalanced quotes in an inline command");
                if (p[i] == q) {
                    i++;
                    break;
                }
                if (p[i] == '\\' && i + 1 < n) {
                    char e = p[i + 1];
                    if (q == '\'') {
                        *o++ = e == '\'' ? '\'' : '\\';
                        i += e == '\'' ? 2 : 1;
                        continue;
                    }
                    if (e == 'x' && i + 3 < n && hexval(p[i + 2]) >= 0 && hexval(p[i + 3]) >= 0) {
                        *o++ = (char)(hexval(p[i + 2]) * 16 + hexval(p[i + 3]));
                        i += 4;
                        continue;
                    }
                    *o++ = unescape(e);
                    i += 2;
                    continue;
                }
                *o++ = p[i++];
            }
            if (i < n && p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
                return fail(s, "a closing quote must be followed by a space");
        } else {
            while (i < n && p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
                *o++ = p[i++];
        }
        s->argl[c] = (size_t)(o - start);
        c++;
    }
    *argc = c;
    return 0;
}

static int parse_inline(struct resp_stream *s, const char *buf, size_t len, struct resp_msg *m,
                        size_t *used)
{
    const char *nl = memchr(buf, '\n', len);
    int argc = 0;
    if (!nl) {
        if (len > RESP_MAX_INLINE)
            return fail(s, "an inline command longer than 64 KiB");
        *used = len + 1;
        return 0;
    }
    if (split_inline(s, buf, (size_t)(nl - buf), &argc) < 0)
        return -1;
    m->inline_cmd = true;
    m->argc = argc;
    *used = (size_t)(nl - buf) + 1;
    return 1;
}

static int parse_request(struct resp_stream *s, const char *buf, size_t len, struct resp_msg *m,
                         size_t *used)
{
    long e = line_end(buf, len, 0);
    long long n;
    size_t pos;
    if (buf[0] != '*')
        return parse_inline(s, buf, len, m, used);
    if (e < 0) {
        if (len > 32)
            return fail(s, "a multibulk length line that does not end");
        *used = len + 1;
        return 0;
    }
    if (parse_ll(buf + 1, (size_t)e - 1, &n) < 0 || n > RESP_MAX_ARGS)
        return fail(s, "bad multibulk length");
    pos = (size_t)e + 2;
    if (n > 0 && grow_args(s, n) < 0)
        return fail(s, "out of memory");
    for (long long i = 0; i < n; i++) {
        long long l;
        if (pos >= len) {
            *used = pos + 1; /* the next byte may already be wrong */
            return 0;
        }
        if (buf[pos] != '$')
            return fail(s, "expected '$' in a multibulk request");
        if ((e = line_end(buf, len, pos)) < 0) {
            if (len - pos > 32)
                return fail(s, "a bulk length line that does not end");
            *used = len + 1;
            return 0;
        }
        if (parse_ll(buf + pos + 1, (size_t)e - pos - 1, &l) < 0 || l < 0 || l > MAX_BULK)
            return fail(s, "bad bulk length");
        pos = (size_t)e + 2;
        if (pos + (size_t)l + 2 > len) {
            *used = pos + (size_t)l + 2;
            return 0;
        }
        if (buf[pos + l] != '\r' || buf[pos + l + 1] != '\n')
            return fail(s, "a bulk string not followed by CRLF");
        s->argv[i] = buf + pos;
        s->argl[i] = (size_t)l;
        pos += (size_t)l + 2;
    }
    m->argc = n > 0 ? (int)n : 0;
    *used = pos;
    return 1;
}

/* ---- replies ---- */

/* The header of the value at buf[p]: its type, a scalar's text (a blob's
 * bytes), an aggregate's element count (maps and attributes: keys and
 * values). *after is where its first element, or the next value, starts.
 * 1, 0 (incomplete: *need is the least length worth trying again), -1. */
static int header(const char *buf, size_t len, size_t p, struct resp_val *v, size_t *after,
                  size_t *need, const char **why)
{
    long e;
    long long n = 0;
    char t;
    memset(v, 0, sizeof(*v));
    if (p >= len) {
        *need = p + 1;
        return 0;
    }
    t = buf[p];
    if (!t || !strchr("+-:,#(_$!=*~>%|", t)) {
        *why = "unknown reply type";
        return -1;
    }
    if ((e = line_end(buf, len, p)) < 0) {
        if (len - p > 64 * 1024 + 64) {
            *why = "a reply line that does not end";
            return -1;
        }
        *need = len + 1;
        return 0;
    }
    const char *line = buf + p + 1;
    size_t ll = (size_t)e - p - 1;
    p = (size_t)e + 2;
    v->type = t;
    switch (t) {
    case '_':
        if (ll) {
            *why = "a null with a value";
            return -1;
        }
        v->null = true;
        break;
    case '+':
    case '-':
    case ':':
    case ',':
    case '#':
    case '(':
        if ((t == ':' && parse_ll(line, ll, &n) < 0) ||
            (t == '#' && (ll != 1 || (line[0] != 't' && line[0] != 'f')))) {
            *why = "a bad integer or boolean";
            return -1;
        }
        v->str = line;
        v->len = ll;
        v->n = n;
        break;
    case '$':
    case '!':
    case '=':
        if (parse_ll(line, ll, &n) < 0 || n < -1 || n > MAX_BULK || (n == -1 && t != '$')) {
            *why = "bad blob length";
            return -1;
        }
        if (n == -1) {
            v->null = true;
            break;
        }
        if (p + (size_t)n + 2 > len) {
            *need = p + (size_t)n + 2;
            return 0;
        }
        if (buf[p + n] != '\r' || buf[p + n + 1] != '\n') {
            *why = "a blob not followed by CRLF";
            return -1;
        }
        v->str = buf + p;
        v->len = (size_t)n;
        p += (size_t)n + 2;
        break;
    default: /* * ~ > % | */
        if (parse_ll(line, ll, &n) < 0 || n < -1 || n > RESP_MAX_ARGS || (n == -1 && t != '*')) {
            *why = "bad aggregate length";
            return -1;
        }
        if (n == -1)
            v->null = true;
        else
            v->n = t == '%' || t == '|' ? 2 * n : n;
    }
    *after = p;
    return 1;
}

/* One value at buf[*pos], moved past it. The top-level one fills m. */
static int parse_value(struct resp_stream *s, const char *buf, size_t len, size_t *pos, int depth,
                       struct resp_msg *m, size_t *need)
{
    struct resp_val v;
    const char *why = NULL;
    size_t p = *pos;
    if (depth > RESP_MAX_DEPTH)
        return fail(s, "a reply nested too deep");
    int rc = header(buf, len, p, &v, &p, need, &why);
    if (rc < 0)
        return fail(s, why);
    if (rc == 0)
        return 0;
    if (strchr("*~>%|", v.type)) {
        for (long long i = 0; i < v.n; i++) {
            rc = parse_value(s, buf, len, &p, depth + 1, NULL, need);
            if (rc <= 0)
                return rc;
        }
        if (v.type == '|') { /* an attribute: the value it describes follows; a
                              * chain of them counts as nesting */
            *pos = p;
            return parse_value(s, buf, len, pos, depth + 1, m, need);
        }
    }
    if (m) {
        m->type = v.type;
        m->null = v.null;
        m->str = v.str;
        m->len = v.len;
    }
    *pos = p;
    return 1;
}

static int skip_at(const char *buf, size_t len, size_t *pos, int depth);

/* resp_next at attribute depth: attributes inside attributes count. */
static int next_at(const char *buf, size_t len, size_t *pos, struct resp_val *v, int depth)
{
    size_t need = 0, after = 0;
    const char *why = NULL;
    for (int chain = 0;; chain++) {
        if (depth + chain > RESP_MAX_DEPTH || header(buf, len, *pos, v, &after, &need, &why) != 1)
            return -1;
        *pos = after;
        if (v->type != '|')
            return 1;
        for (long long i = 0; i < v->n; i++) /* an attribute: skipped */
            if (skip_at(buf, len, pos, depth + chain + 1) < 0)
                return -1;
    }
}

static int skip_at(const char *buf, size_t len, size_t *pos, int depth)
{
    struct resp_val v;
    long long left = 1; /* values still to skip, nested ones included */
    while (left-- > 0) {
        if (next_at(buf, len, pos, &v, depth) < 0)
            return -1;
        if (strchr("*~>%", v.type) && !v.null) {
            if (v.n > (long long)(len - *pos)) /* each element takes at least 3 bytes */
                return -1;
            left += v.n;
        }
    }
    return 0;
}

int resp_next(const char *buf, size_t len, size_t *pos, struct resp_val *v)
{
    return next_at(buf, len, pos, v, 0);
}

int resp_skip(const char *buf, size_t len, size_t *pos)
{
    return skip_at(buf, len, pos, 0);
}

int resp_parse(struct resp_stream *s, const char *buf, size_t len, struct resp_msg *m, size_t *used)
{
    size_t pos = 0;
    int rc;
    memset(m, 0, sizeof(*m));
    m->request = s->request;
    if (!len) {
        *used = 1;
        return 0;
    }
    if (s->request) {
        rc = parse_request(s, buf, len, m, used);
        m->argv = s->argv;
        m->argl = s->argl;
    } else {
        rc = parse_value(s, buf, len, &pos, 0, m, used);
        if (rc == 1)
            *used = pos;
    }
    if (rc == 1)
        m->bytes = *used;
    return rc;
}

/* ---- the stream ---- */

void resp_init(struct resp_stream *s, bool request)
{
    memset(s, 0, sizeof(*s));
    s->request = request;
}

void resp_free(struct resp_stream *s)
{
    free(s->buf);
    free(s->argv);
    free(s->argl);
    free(s->inl);
    memset(s, 0, sizeof(*s));
}

int resp_feed(struct resp_stream *s, const void *data, size_t n, resp_fn on_msg, void *ctx)
{
    size_t off = 0;
    int count = 0;
    if (s->state != RESP_OK)
        return -1;
    if (s->len + n > RESP_MAX_MSG) {
        s->state = RESP_TOO_BIG;
        snprintf(s->why, sizeof(s->why), "a message over %u MiB", RESP_MAX_MSG >> 20);
        return -1;
    }
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b) {
            s->state = RESP_BAD;
            snprintf(s->why, sizeof(s->why), "out of memory");
            return -1;
        }
        s->buf = b;
        s->cap = cap;
    }
    if (n)
        memcpy(s->buf + s->len, data, n);
    s->len += n;
    while (off < s->len && s->len >= s->need) {
        struct resp_msg m;
        size_t used = 0;
        int rc = resp_parse(s, s->buf + off, s->len - off, &m, &used);
        if (rc < 0) {
            s->state = RESP_BAD;
            return -1;
        }
        if (rc == 0) {
            s->need = used; /* relative to off: made absolute below */
            break;
        }
        s->need = 0;
        off += used;
        s->offset += used;
        count++;
        if (on_msg && (!m.request || m.argc > 0))
            on_msg(ctx, &m);
    }
    if (off) {
        memmove(s->buf, s->buf + off, s->len - off);
        s->len -= off;
    }
    return count;
}
