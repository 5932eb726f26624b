/* fuzz_ctl: libFuzzer harness for the control-protocol request parser.
 * The input is split at newlines, as rift-shim reads requests; each line
 * goes to ctl_parse, and the whole input once more as a single line. A
 * parsed `set` on a rule of a small fixed policy goes on as in rift-shim:
 * pol_rule_set on a copy of the policy, then pol_rule_check. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../policies/policy.h"
#include "../../proto/ctl.h"

static const char policy_text[] = "[node a]\naddr = 127.0.0.11:7000\n"
                                  "[node b]\naddr = 127.0.0.12:7000\n"
                                  "[rule r1]\nfrom = a\nto = b\nports = bus\ndelay = 10ms\n"
                                  "[rule hold]\nfrom = a, b\nto = *\nhold = yes\n";
/* Large: static. */
static struct policy pol, copy;
static bool pol_loaded;

static void request(const char *line)
{
    struct ctl_cmd c;
    char err[POL_ERR_MAX];
    int ri, k, bad_line;
    if (ctl_parse(line, &c, err, sizeof(err)) < 0 || c.op != CTL_SET)
        return;
    if ((ri = pol_find_rule(&pol, c.rule)) < 0)
        return;
    memcpy(&copy, &pol, sizeof(copy));
    if (pol_rule_set(&copy.rules[ri], c.key, c.value, err, sizeof(err)) < 0)
        return;
    k = pol_key_index(c.key);
    if (k >= 0 && !copy.rules[ri].key_line[k])
        copy.rules[ri].key_line[k] = copy.rules[ri].line;
    pol_rule_check(&copy, &copy.rules[ri], &bad_line, err, sizeof(err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[POL_ERR_MAX];
    char *text = malloc(size + 1), *s, *nl;
    if (!text)
        return 0;
    if (!pol_loaded) {
        if (pol_load_string(&pol, "ctl.ini", policy_text, err, sizeof(err)) != 0) {
            fprintf(stderr, "fuzz_ctl: %s\n", err);
            __builtin_trap();
        }
        pol_loaded = true;
    }
    memcpy(text, data, size);
    text[size] = '\0'; /* a NUL inside ends the text early, as it would a C string */
    request(text);
    for (s = text; (nl = strchr(s, '\n')); s = nl + 1) {
        *nl = '\0';
        request(s);
    }
    request(s);
    free(text);
    return 0;
}
