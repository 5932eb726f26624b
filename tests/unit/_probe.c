#include <stdio.h>
#include <string.h>
#include "../../policies/policy.h"
#include "../../shim/match.h"
static struct policy P;
static void t(const char *name, const char *s) {
    char err[512] = "";
    int rc = pol_load_string(&P, name, s, err, sizeof err);
    printf("%s rc=%d err=%s\n", name, rc, err);
}
int main(void) {
    t("nodehdr", "[node a]\nbus = 17000\n[node b]\naddr=127.0.0.2:7000\n[rule r]\nfrom=a\nto=b\n");
    t("emptyunknown", "[foo]\n[node a]\naddr=127.0.0.1:7000\n[node b]\naddr=127.0.0.2:7000\n[rule r]\nfrom=a\nto=b\n");
    t("unknownsec", "[node a]\naddr=127.0.0.1:7000\n[node b]\naddr=127.0.0.2:7000\n[rule r]\nfrom=a\nto=b\n\n[foo]\nx=1\n");
    t("dupnode", "[node a]\naddr=127.0.0.1:7000\n[node b]\naddr=127.0.0.2:7000\n\n[node a]\naddr=127.0.0.3:7000\n[rule r]\nfrom=a\nto=b\n");
    t("dupnodeadj", "[node a]\naddr=127.0.0.1:7000\n[node a]\nbus=1234\n[node b]\naddr=127.0.0.2:7000\n[rule r]\nfrom=a\nto=b\n");
    t("emptynode", "[node a]\naddr=127.0.0.1:7000\n[node c]\n[node b]\naddr=127.0.0.2:7000\n[rule r]\nfrom=a\nto=c\n");
    t("norules", "[node a]\naddr=127.0.0.1:7000\n[node b]\naddr=127.0.0.2:7000\n[rule r]\n");
    t("syntax", "[node a]\naddr=127.0.0.1:7000\nbogus\n[node b]\naddr=127.0.0.2:7000\n[rule r]\nfrom=a\nto=b\n");
    t("ok", "[node a]\naddr=127.0.0.1:7000\n[node b]\naddr=127.0.0.2:7000\n[rule r]\nfrom=a,b\nto=a,b\ndirection=both\nports=bus\n");
    struct match_pat pats[32];
    int n = match_patterns(&P, &P.rules[0], pats, 32);
    printf("pats %d\n", n);
    for (int i = 0; i < n; i++) printf("  %x>%x %u %u %u\n", pats[i].src, pats[i].dst, pats[i].sport, pats[i].dport, pats[i].proto);
    return 0;
}
