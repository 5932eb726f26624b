/* fuzz_policy: libFuzzer harness for the shim policy loader. The input up
 * to its first NUL byte is a policy file, loaded with pol_load_string;
 * each line after that NUL is "KEY VALUE", set with pol_rule_set on a copy
 * of a loaded rule (in turn) and checked with pol_rule_check, as
 * `rift-shim ctl SOCKET set RULE KEY VALUE` does. A loaded policy must
 * pass pol_rule_check again and have the names its headers give: anything
 * else traps. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../policies/policy.h"

/* Large: static. */
static struct policy pol, copy;

/* "KEY VALUE" lines in [s, end): set each on a copy of a rule. */
static void set_lines(const char *s, const char *end, bool loaded)
{
    char err[POL_ERR_MAX], line[512];
    int n = 0, bad_line;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t len = (size_t)((nl ? nl : end) - s);
        char *value;
        struct pol_rule *r;
        int k;
        if (len >= sizeof(line))
            len = sizeof(line) - 1;
        memcpy(line, s, len);
        line[len] = '\0';
        s = nl ? nl + 1 : end;
        value = strchr(line, ' ');
        if (value)
            *value++ = '\0';
        else
            value = line + strlen(line);
        if (!loaded) {
            struct pol_rule rule;
            pol_rule_defaults(&rule);
            pol_rule_set(&rule, line, value, err, sizeof(err));
            continue;
        }
        memcpy(&copy, &pol, sizeof(copy));
        r = &copy.rules[n++ % copy.n_rules];
        if (pol_rule_set(r, line, value, err, sizeof(err)) < 0)
            continue;
        k = pol_key_index(line);
        if (k >= 0 && !r->key_line[k])
            r->key_line[k] = r->line;
        pol_rule_check(&copy, r, &bad_line, err, sizeof(err));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t len = nul ? (size_t)(nul - data) : size;
    char err[POL_ERR_MAX];
    char *text = malloc(len + 1); /* exact size: ASan sees reads past the end */
    bool loaded;
    int line;
    if (!text)
        return 0;
    memcpy(text, data, len);
    text[len] = '\0';
    loaded = pol_load_string(&pol, "fuzz.ini", text, err, sizeof(err)) == 0;
    if (loaded) {
        for (int i = 0; i < pol.n_rules; i++)
            if (pol_rule_check(&pol, &pol.rules[i], &line, err, sizeof(err)) < 0) {
                fprintf(stderr, "fuzz_policy: rule %s fails its check after loading: %s\n",
                        pol.rules[i].name, err);
                __builtin_trap();
            }
        /* Every name is one the text gives, whole, at the end of a header. */
        for (int i = 0; i < pol.n_nodes + pol.n_rules; i++) {
            const char *name =
                i < pol.n_nodes ? pol.nodes[i].name : pol.rules[i - pol.n_nodes].name;
            char header[POL_NAME_MAX + 1];
            snprintf(header, sizeof(header), "%s]", name);
            if (!strstr(text, header)) {
                fprintf(stderr, "fuzz_policy: name '%s' is not in the text\n", name);
                __builtin_trap();
            }
        }
    }
    free(text);
    if (nul)
        set_lines((const char *)nul + 1, (const char *)data + size, loaded);
    return 0;
}
