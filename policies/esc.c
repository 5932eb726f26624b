/* esc: JSON, XML and text escaping. */
#include "esc.h"

#include <stdbool.h>
#include <string.h>

size_t esc_utf8_len(const unsigned char *s)
{
    size_t n;
    unsigned cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void esc_json(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    fputc('"', f);
    while (*s) {
        size_t n = esc_utf8_len(s);
        if (n == 0) {
            fputs("\\ufffd", f);
            s++;
            continue;
        }
        if (n > 1) {
            fwrite(s, 1, n, f);
            s += n;
            continue;
        }
        switch (*s) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        default:
            if (*s < 0x20 || *s == 0x7f)
                fprintf(f, "\\u%04x", *s);
            else
                fputc(*s, f);
        }
        s++;
    }
    fputc('"', f);
}

void esc_xml(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    while (*s) {
        size_t n = esc_utf8_len(s);
        if (n == 0) {
            fputs("&#xFFFD;", f);
            s++;
            continue;
        }
        if (n > 1) {
            /* U+FFFE and U+FFFF are not XML characters */
            if (n == 3 && s[0] == 0xef && s[1] == 0xbf && s[2] >= 0xbe)
                fputs("&#xFFFD;", f);
            else
                fwrite(s, 1, n, f);
            s += n;
            continue;
        }
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        case '\n':
            fputs("&#10;", f);
            break;
        case '\t':
            fputs("&#9;", f);
            break;
        case '\r':
            fputs("&#13;", f);
            break;
        default:
            /* XML 1.0 has no other control characters at all */
            if (*s < 0x20)
                fputs("&#xFFFD;", f);
            else
                fputc(*s, f);
        }
        s++;
    }
}

void esc_text(char *out, size_t len, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t o = 0;
    if (!len)
        return;
    for (; *s && o + 1 < len; s++) {
        if (*s >= 0x20 && *s < 0x7f && *s != '\\') {
            out[o++] = (char)*s;
        } else {
            if (o + 5 > len)
                break;
            snprintf(out + o, len - o, "\\x%02x", *s);
            o += 4;
        }
    }
    out[o] = '\0';
}

void esc_file_line(char *out, size_t len, const char *file, int line, const char *msg)
{
    char f[1024], m[1024];
    esc_text(f, sizeof(f), file);
    esc_text(m, sizeof(m), msg);
    snprintf(out, len, "%s:%d: %s", f, line, m);
}

bool esc_json_field(const char *line, const char *key, char *out, size_t len)
{
    char pat[48];
    const char *p;
    size_t n = 0;
    out[0] = 0;
    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    if (!(p = strstr(line, pat)))
        return false;
    for (p += strlen(pat); *p && *p != '"'; p++) {
        char c = *p;
        if (c == '\\') {
            c = *++p;
            switch (c) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'u': {
                unsigned u = 0;
                for (int i = 0; i < 4 && p[1]; i++, p++)
                    u = u * 16 + (unsigned)(p[1] <= '9' ? p[1] - '0' : (p[1] | 32) - 'a' + 10);
                c = (char)(u < 0x80 ? u : '?');
                break;
            }
            case 0:
                return false;
            default:
                break; /* \" \\ \/ */
            }
        }
        if (n + 1 < len)
            out[n++] = c;
    }
    out[n] = 0;
    return *p == '"';
}

/* Bytes a shell word may hold bare. */
static bool shell_safe(const unsigned char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("_@%+=:,./-", *s)))
            return false;
    return true;
}

bool esc_shell(char *out, size_t len, const char *word)
{
    const unsigned char *s = (const unsigned char *)word;
    bool ctl = false;
    size_t o = 0;
    for (const unsigned char *p = s; *p; p++)
        ctl |= *p < 0x20 || *p == 0x7f;
    if (shell_safe(s))
        return (size_t)snprintf(out, len, "%s", word) < len;
    /* '...' keeps every byte as it is; $'...' is bash's form for bytes a
     * terminal would act on */
    if (len < 4)
        return false;
    if (ctl)
        out[o++] = '$';
    out[o++] = '\'';
    for (; *s; s++) {
        char piece[8];
        if (*s == '\'')
            snprintf(piece, sizeof(piece), ctl ? "\\'" : "'\\''");
        else if (ctl && (*s < 0x20 || *s == 0x7f || *s == '\\'))
            snprintf(piece, sizeof(piece), "\\x%02x", *s);
        else
            snprintf(piece, sizeof(piece), "%c", *s);
        size_t n = strlen(piece);
        if (o + n + 2 > len)
            return false;
        memcpy(out + o, piece, n);
        o += n;
    }
    out[o++] = '\'';
    out[o] = '\0';
    return true;
}

bool esc_shell_line(char *out, size_t len, int argc, const char *const *argv)
{
    size_t o = 0;
    if (!len)
        return false;
    out[0] = '\0';
    for (int i = 0; i < argc; i++) {
        if (i && o + 1 < len)
            out[o++] = ' ';
        if (o >= len || !esc_shell(out + o, len - o, argv[i]))
            return false;
        o += strlen(out + o);
    }
    return true;
}

/* A strict reader of one JSON value for esc_json_valid: s moves past it. */
struct jv {
    const char *s;
    int depth;
};

static void jv_ws(struct jv *j)
{
    while (*j->s == ' ' || *j->s == '\t' || *j->s == '\n' || *j->s == '\r')
        j->s++;
}

static bool jv_string(struct jv *j)
{
    if (*j->s++ != '"')
        return false;
    while (*j->s != '"') {
        const unsigned char *u = (const unsigned char *)j->s;
        size_t n;
        if (*u < 0x20)
            return false; /* a raw control byte, or the end */
        if (*u == '\\') {
            if (u[1] == 'u') {
                for (int k = 2; k < 6; k++)
                    if (!strchr("0123456789abcdefABCDEF", u[k]) || !u[k])
                        return false;
                j->s += 6;
            } else if (u[1] && strchr("\"\\/bfnrt", u[1])) {
                j->s += 2;
            } else {
                return false;
            }
            continue;
        }
        if (!(n = esc_utf8_len(u)))
            return false;
        j->s += n;
    }
    j->s++;
    return true;
}

static bool jv_number(struct jv *j)
{
    const char *p = j->s;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return false;
    if (*p == '.') {
        if (*++p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        if (*++p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    j->s = p;
    return true;
}

static bool jv_value(struct jv *j);

/* An object ('{', members ':'-separated) or an array ('['). */
static bool jv_container(struct jv *j, char close)
{
    bool obj = close == '}';
    if (++j->depth > 64)
        return false;
    j->s++;
    jv_ws(j);
    if (*j->s == close) {
        j->s++;
        j->depth--;
        return true;
    }
    for (;;) {
        if (obj) {
            if (!jv_string(j))
                return false;
            jv_ws(j);
            if (*j->s++ != ':')
                return false;
        }
        if (!jv_value(j))
            return false;
        jv_ws(j);
        if (*j->s == ',') {
            j->s++;
            jv_ws(j);
            continue;
        }
        if (*j->s++ != close)
            return false;
        j->depth--;
        return true;
    }
}

static bool jv_value(struct jv *j)
{
    jv_ws(j);
    switch (*j->s) {
    case '{':
        return jv_container(j, '}');
    case '[':
        return jv_container(j, ']');
    case '"':
        return jv_string(j);
    case 't':
        return !strncmp(j->s, "true", 4) && (j->s += 4);
    case 'f':
        return !strncmp(j->s, "false", 5) && (j->s += 5);
    case 'n':
        return !strncmp(j->s, "null", 4) && (j->s += 4);
    default:
        return jv_number(j);
    }
}

bool esc_json_object(const char *s)
{
    struct jv j = {.s = s, .depth = 0};
    jv_ws(&j);
    if (*j.s != '{' || !jv_value(&j))
        return false;
    jv_ws(&j);
    return *j.s == '\0';
}

void esc_json_embed(FILE *f, const char *s)
{
    if (s && esc_json_object(s)) {
        fputs(s, f);
        return;
    }
    fputs("{\"unparsed\":", f);
    esc_json(f, s ? s : "");
    fputc('}', f);
}

void esc_xml_in(FILE *f, const char *before, const char *s, const char *after)
{
    fputs(before, f);
    esc_xml(f, s);
    fputs(after, f);
}
