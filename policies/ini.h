/* ini: the INI loading the policy and scenario loaders share (inih
 * underneath): lines counted and [headers] seen as they are handed out (the
 * handler is not told either by Debian's inih), the first error and its
 * line, a size cap, and escaped "FILE:LINE: what" messages. */
#ifndef RIFT_INI_H
#define RIFT_INI_H

#include <stddef.h>
#include <stdio.h>

/* The longest line inih reads whole, its newline not counted (its
 * INI_MAX_LINE of 200 less the newline and the NUL); the loaders refuse a
 * longer one (ini.c), which inih would hand back as two lines. */
#define POL_INI_LINE 198

#define INI_ERR_MAX 512
#define INI_FILE_MAX (1024L * 1024) /* bytes: a bigger file is refused */

struct ini {
    /* set by the caller */
    const char *kind;  /* "policy", "scenario": for messages */
    const char *first; /* the sections a file starts with, for messages */
    void (*on_section)(void *ctx, const char *name);
    int (*on_key)(void *ctx, const char *section, const char *key, const char *value);
    int (*validate)(void *ctx); /* after every line: 0 or -1 with an error */
    void *ctx;
    /* kept by ini */
    FILE *f;          /* the source: a file or */
    const char *text; /* a string */
    int line;         /* the line being handled */
    int sections;     /* [headers] seen so far */
    int err_line;
    char err[INI_ERR_MAX];
};

/* The first error wins, at the current line; returns 0, inih's failure
 * value for a handler. */
int ini_fail(struct ini *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The first error wins, at line; returns -1. */
int ini_fail_at(struct ini *in, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The whole of FILE (a regular file of at most INI_FILE_MAX bytes, no NUL
 * byte), malloc'd; NULL with "FILE: what" or "FILE:1: what" in err. */
char *ini_read_file(const char *file, char *err, size_t errlen);
/* Parse file (at most INI_FILE_MAX bytes) or, when file is NULL, text,
 * named name in messages; then validate. 0, or -1 with "NAME:LINE: what". */
int ini_load(struct ini *in, const char *name, const char *file, const char *text, char *err,
             size_t errlen);

#endif
