/* ini: shared INI loading. */
#include "ini.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "esc.h"

_Static_assert(POL_INI_LINE == INI_MAX_LINE - 2,
               "POL_INI_LINE is inih's line less newline and NUL");

static bool more_input(struct ini *in)
{
    int c;
    if (!in->f)
        return *in->text != '\0';
    if ((c = getc(in->f)) == EOF)
        return false;
    ungetc(c, in->f);
    return true;
}

/* inih's line source: counts lines and spots [headers] as it hands them
 * out, so that errors carry the right line and empty or repeated sections
 * are seen; inih has handled every earlier line by then. */
static char *read_line(char *str, int num, void *stream)
{
    struct ini *in = stream;
    char *r = str;
    if (in->f) {
        r = fgets(str, num, in->f);
    } else {
        const char *nl = strchr(in->text, '\n');
        size_t n = nl ? (size_t)(nl - in->text + 1) : strlen(in->text);
        if (!n)
            return NULL;
        if (n > (size_t)num - 1)
            n = (size_t)num - 1;
        memcpy(str, in->text, n);
        str[n] = '\0';
        in->text += n;
    }
    if (r) {
        const char *s = r, *end;
        size_t len = strlen(r);
        in->line++;
        /* inih's buffer is full and the line goes on: the rest would be
         * read as a line of its own (a [header] hidden in a long value) */
        if (len == (size_t)num - 1 && r[len - 1] != '\n' && more_input(in)) {
            ini_fail(in, "line longer than %d bytes", POL_INI_LINE);
            return NULL;
        }
        if (in->line == 1 && !strncmp(s, "\xEF\xBB\xBF", 3))
            s += 3;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '[' && (end = strchr(s, ']'))) {
            char name[256]; /* a whole header of inih's 200-byte line: never cut short */
            snprintf(name, sizeof(name), "%.*s", (int)(end - s - 1), s + 1);
            in->sections++;
            in->on_section(in->ctx, name);
        }
    }
    return r;
}

static void vfail(struct ini *in, int line, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void vfail(struct ini *in, int line, const char *fmt, va_list ap)
{
    if (in->err_line)
        return;
    vsnprintf(in->err, sizeof(in->err), fmt, ap);
    in->err_line = line > 0 ? line : 1;
}

int ini_fail(struct ini *in, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(in, in->line, fmt, ap);
    va_end(ap);
    return 0;
}

int ini_fail_at(struct ini *in, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(in, line, fmt, ap);
    va_end(ap);
    return -1;
}

/* Every key: one before any section is an error here, for both loaders. */
static int on_key(void *user, const char *section, const char *key, const char *value)
{
    struct ini *in = user;
    if (!in->sections)
        return ini_fail(in, "'%s' is outside any section (start with %s)", key, in->first);
    return in->on_key(in->ctx, section, key, value);
}

int ini_load(struct ini *in, const char *name, const char *file, const char *text, char *err,
             size_t errlen)
{
    struct stat sb;
    int rc;
    in->f = NULL;
    in->text = text;
    in->line = in->err_line = in->sections = 0;
    in->err[0] = '\0';
    if (file) {
        if (!(in->f = fopen(file, "r"))) {
            snprintf(err, errlen, "%s: %s", file, strerror(errno));
            return -1;
        }
        if (fstat(fileno(in->f), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > INI_FILE_MAX) {
            snprintf(err, errlen, "%s:1: %lld bytes: a %s file is at most %d KiB", file,
                     (long long)sb.st_size, in->kind, (int)(INI_FILE_MAX / 1024));
            fclose(in->f);
            in->f = NULL;
            return -1;
        }
    }
    /* An indented line is a key like any other, not a continuation. */
    ini_allow_multiline = false;
    rc = ini_parse_stream(read_line, in, on_key, in);
    if (in->f) {
        fclose(in->f);
        in->f = NULL;
    }
    if (rc != 0 || in->err_line) {
        /* inih's first failing line is ours unless it is an earlier one. */
        if (!in->err_line || (rc > 0 && rc < in->err_line)) {
            in->err_line = rc > 0 ? rc : 1;
            snprintf(in->err, sizeof(in->err), "syntax error (expected [section] or key = value)");
        }
        rc = -1;
    } else {
        rc = in->validate(in->ctx);
    }
    if (rc < 0) {
        esc_file_line(err, errlen, name, in->err_line, in->err);
        return -1;
    }
    return 0;
}

char *ini_read_file(const char *file, char *err, size_t errlen)
{
    FILE *f = fopen(file, "r");
    struct stat sb;
    char *buf;
    size_t n;
    if (!f) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > INI_FILE_MAX) {
        snprintf(err, errlen, "%s:1: not a regular file of at most %d KiB", file,
                 (int)(INI_FILE_MAX / 1024));
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t)sb.st_size + 1);
    n = buf ? fread(buf, 1, (size_t)sb.st_size, f) : 0;
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", file);
        return NULL;
    }
    buf[n] = '\0';
    if (strlen(buf) != n) {
        snprintf(err, errlen, "%s:1: the file holds a NUL byte", file);
        free(buf);
        return NULL;
    }
    return buf;
}
