/* resp: incremental RESP2/RESP3 decoding of one direction of a client
 * connection. */
#include "resp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BULK (512ll << 20) /* proto-max-bulk-len's default */

/* The CRLF-terminated line searched from buf[from]: index of its '\r',
 * -1 when it is not all there yet. */
static long line_end(const char *buf, size_t len, size_t from)
{
    for (size_t i = from; i + 1 < len; i++)
        if (buf[i] == '\r' && buf[i + 1] == '\n')
            return (long)i;
    return -1;
}

/* line_end for the line at buf[pos] of a message that arrives in pieces:
 * the search goes on from where the last one stopped, and the bytes it
 * looks at are counted. */
static long line_end_at(struct resp_stream *s, const char *buf, size_t len, size_t pos)
{
    size_t from = s->cur.line_from > pos ? s->cur.line_from : pos;
    long e = line_end(buf, len, from);
    if (e >= 0) {
        s->scanned += (size_t)e + 2 - from;
        return e;
    }
    if (len > from) {
        s->scanned += len - from;
        s->cur.line_from = len - 1; /* a '\r' last may still get its '\n' */
    }
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

/* Room for n arguments (doubling, so that arguments read one by one cost
 * a constant each). */
static int grow_args(struct resp_stream *s, long long n)
{
    if (n <= s->args_cap)
        return 0;
    long long cap = s->args_cap ? 2LL * s->args_cap : 16;
    if (cap < n)
        cap = n;
    const char **a = realloc(s->argv, (size_t)cap * sizeof(*a));
    if (!a)
        return -1;
    s->argv = a;
    size_t *l = realloc(s->argl, (size_t)cap * sizeof(*l));
    if (!l)
        return -1;
    s->argl = l;
    size_t *o = realloc(s->argo, (size_t)cap * sizeof(*o));
    if (!o)
        return -1;
    s->argo = o;
    s->args_cap = (int)cap;
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
    struct resp_cur *c = &s->cur;
    size_t from = c->line_from < len ? c->line_from : len;
    const char *nl = memchr(buf + from, '\n', len - from);
    int argc = 0;
    if (!nl) {
        s->scanned += len - from;
        if (len > RESP_MAX_INLINE)
            return fail(s, "an inline command longer than 64 KiB");
        c->line_from = len;
        *used = len + 1;
        return 0;
    }
    s->scanned += (size_t)(nl - buf) + 1 - from;
    if (split_inline(s, buf, (size_t)(nl - buf), &argc) < 0)
        return -1;
    m->inline_cmd = true;
    m->argc = argc;
    *used = (size_t)(nl - buf) + 1;
    return 1;
}

/* The multibulk length line "*N": 1 (c->argn set), 0 incomplete, -1. */
static int request_head(struct resp_stream *s, const char *buf, size_t len, size_t *used)
{
    struct resp_cur *c = &s->cur;
    long e = line_end_at(s, buf, len, 0);
    long long n;
    if (e < 0) {
        if (len > 32)
            return fail(s, "a multibulk length line that does not end");
        *used = len + 1;
        return 0;
    }
    if (parse_ll(buf + 1, (size_t)e - 1, &n) < 0 || n > RESP_MAX_ARGS)
        return fail(s, "bad multibulk length");
    c->started = true;
    c->argn = n;
    c->argi = 0;
    c->at = (size_t)e + 2;
    c->line_from = 0;
    return 1;
}

/* A request, from where the last call stopped: the arguments read before
 * are not read again. */
static int parse_request(struct resp_stream *s, const char *buf, size_t len, struct resp_msg *m,
                         size_t *used)
{
    struct resp_cur *c = &s->cur;
    bool resumed = c->started;
    int rc, argi;
    size_t at;
    if (buf[0] != '*')
        return parse_inline(s, buf, len, m, used);
    if (!c->started && (rc = request_head(s, buf, len, used)) <= 0)
        return rc;
    for (at = c->at, argi = c->argi; argi < c->argn; c->at = at, c->argi = ++argi) {
        size_t pos = at;
        long long l;
        long e;
        if (pos >= len) {
            *used = pos + 1; /* the next byte may already be wrong */
            return 0;
        }
        if (buf[pos] != '$')
            return fail(s, "expected '$' in a multibulk request");
        if ((e = line_end_at(s, buf, len, pos)) < 0) {
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
        if (argi >= s->args_cap && grow_args(s, argi + 1) < 0)
            return fail(s, "out of memory");
        s->argv[argi] = buf + pos;
        s->argo[argi] = pos;
        s->argl[argi] = (size_t)l;
        at = pos + (size_t)l + 2;
        c->line_from = 0;
    }
    for (int i = 0; resumed && i < argi; i++) /* the buffer may have moved since */
        s->argv[i] = buf + s->argo[i];
    m->argc = argi;
    *used = at;
    return 1;
}

/* ---- replies ---- */

/* The header of the value at buf[p]: its type, a scalar's text (a blob's
 * bytes), an aggregate's element count (maps and attributes: keys and
 * values). *after is where its first element, or the next value, starts.
 * 1, 0 (incomplete: *need is the least length worth trying again), -1. */
static int header(const char *buf, size_t len, size_t p, struct resp_val *v, size_t *after,
                  size_t *need, const char **why, struct resp_stream *s)
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
    if ((e = s ? line_end_at(s, buf, len, p) : line_end(buf, len, p)) < 0) {
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

static bool aggregate(char t)
{
    return t == '*' || t == '~' || t == '>' || t == '%' || t == '|';
}

/* Takes the header just read at c->at (mine: the value the message
 * reports, unless it is an attribute) into the cursor. */
static int reply_took(struct resp_stream *s, const char *buf, const struct resp_val *v,
                      size_t after, bool mine)
{
    struct resp_cur *c = &s->cur;
    /* an attribute is followed by the value it describes, one level down */
    long long kids = aggregate(v->type) && !v->null ? v->n + (v->type == '|') : 0;
    c->left[c->level]--;
    c->at = after;
    c->line_from = 0;
    if (kids > 0) {
        if (c->level + 1 > RESP_MAX_DEPTH)
            return fail(s, "a reply nested too deep");
        c->left[++c->level] = kids;
    }
    if (mine && v->type == '|') {
        c->m_level = c->level;
    } else if (mine) {
        c->m_level = -1;
        c->m_type = v->type;
        c->m_null = v->null;
        c->m_str = v->str != NULL;
        c->m_off = v->str ? (size_t)(v->str - buf) : 0;
        c->m_len = v->len;
    }
    return 1;
}

/* A reply, from where the last call stopped: values read whole before are
 * not read again. */
static int parse_reply(struct resp_stream *s, const char *buf, size_t len, struct resp_msg *m,
                       size_t *used)
{
    struct resp_cur *c = &s->cur;
    struct resp_val v;
    const char *why = NULL;
    size_t after = 0;
    int rc;
    if (!c->started) {
        rc = header(buf, len, 0, &v, &after, used, &why, s);
        if (rc < 0)
            return fail(s, why);
        if (rc == 1 && !(aggregate(v.type) && !v.null)) { /* a scalar: all there is */
            m->type = v.type;
            m->null = v.null;
            m->str = v.str;
            m->len = v.len;
            *used = after;
            return 1;
        }
        c->started = true;
        c->at = 0;
        c->level = c->m_level = 0;
        c->left[0] = 1;
        if (rc == 0)
            return 0;
        if (reply_took(s, buf, &v, after, true) < 0)
            return -1;
    }
    while (c->level >= 0) {
        if (!c->left[c->level]) {
            c->level--;
            continue;
        }
        bool mine = c->level == c->m_level && c->left[c->level] == 1;
        if ((rc = header(buf, len, c->at, &v, &after, used, &why, s)) <= 0)
            return rc < 0 ? fail(s, why) : 0;
        if (reply_took(s, buf, &v, after, mine) < 0)
            return -1;
    }
    m->type = c->m_type;
    m->null = c->m_null;
    m->str = c->m_str ? buf + c->m_off : NULL;
    m->len = c->m_len;
    *used = c->at;
    return 1;
}

static int skip_at(const char *buf, size_t len, size_t *pos, int depth);

/* resp_next at attribute depth: attributes inside attributes count. */
static int next_at(const char *buf, size_t len, size_t *pos, struct resp_val *v, int depth)
{
    size_t need = 0, after = 0;
    const char *why = NULL;
    for (int chain = 0;; chain++) {
        if (depth + chain > RESP_MAX_DEPTH ||
            header(buf, len, *pos, v, &after, &need, &why, NULL) != 1)
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

/* The next message starts from its first byte (the rest of the cursor is
 * set when it is started). */
static void cur_reset(struct resp_cur *c)
{
    c->started = false;
    c->at = c->line_from = 0;
}

/* The message at buf, going on from s->cur. */
static int parse_more(struct resp_stream *s, const char *buf, size_t len, struct resp_msg *m,
                      size_t *used)
{
    int rc;
    memset(m, 0, sizeof(*m));
    m->request = s->request;
    if (!len) {
        *used = 1;
        return 0;
    }
    rc = s->request ? parse_request(s, buf, len, m, used) : parse_reply(s, buf, len, m, used);
    if (s->request) {
        m->argv = s->argv;
        m->argl = s->argl;
    }
    if (rc == 1) {
        m->raw = buf;
        m->bytes = *used;
        cur_reset(&s->cur);
    }
    return rc;
}

int resp_parse(struct resp_stream *s, const char *buf, size_t len, struct resp_msg *m, size_t *used)
{
    cur_reset(&s->cur);
    return parse_more(s, buf, len, m, used);
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
    free(s->argo);
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
        int rc = parse_more(s, s->buf + off, s->len - off, &m, &used);
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
