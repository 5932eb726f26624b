/* tabline: tab-separated, backslash-escaped fields, a message per line. */
#include "tabline.h"

void tl_put(FILE *f, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\\' || c == '\t' || c == '\n')
            fprintf(f, "\\%c", c == '\t' ? 't' : c == '\n' ? 'n' : c);
        else
            fputc(c, f);
    }
}

int tl_split(char *line, char **w, int max)
{
    int n = 0;
    char *o = line;
    if (max < 1)
        return -1;
    w[n++] = o;
    for (char *p = line; *p && *p != '\n'; p++) {
        if (*p == '\t') {
            *o++ = 0;
            if (n == max)
                return -1;
            w[n++] = o;
        } else if (*p == '\\' && p[1]) {
            p++;
            *o++ = (char)(*p == 't' ? '\t' : *p == 'n' ? '\n' : *p);
        } else {
            *o++ = *p;
        }
    }
    *o = 0;
    return n;
}
