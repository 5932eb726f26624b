/* hosts: the hosts file loader and the placement of nodes on hosts. */
#include "hosts.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../policies/ini.h"

enum hsec { HS_NONE, HS_HOST, HS_PLACEMENT, HS_SSH, HS_HARNESS, HS_BAD };

struct hloader {
    struct ini ini;
    struct hosts *hs;
    enum hsec sec;
    struct host *cur;
    int sec_line[HS_BAD];
};

static bool name_ok(const char *s)
{
    if (!*s || strlen(s) >= 32)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return false;
    return true;
}

static void on_section(void *ctx, const char *name)
{
    struct hloader *L = ctx;
    static const char *const once[] = {
        [HS_PLACEMENT] = "placement", [HS_SSH] = "ssh", [HS_HARNESS] = "harness"};
    L->cur = NULL;
    L->sec = HS_BAD;
    if (!strncmp(name, "host ", 5)) {
        const char *n = name + 5;
        if (!name_ok(n)) {
            ini_fail(&L->ini, "[host NAME]: a name of letters, digits, '-', '_', '.', got '%s'", n);
            return;
        }
        for (int i = 0; i < L->hs->n; i++)
            if (!strcmp(L->hs->h[i].name, n)) {
                ini_fail(&L->ini, "host %s given twice (line %d)", n, L->hs->h[i].line);
                return;
            }
        if (L->hs->n == HOSTS_MAX) {
            ini_fail(&L->ini, "more than %d hosts", HOSTS_MAX);
            return;
        }
        L->cur = &L->hs->h[L->hs->n++];
        snprintf(L->cur->name, sizeof(L->cur->name), "%s", n);
        snprintf(L->cur->tmp, sizeof(L->cur->tmp), "/tmp");
        L->cur->line = L->ini.line;
        L->sec = HS_HOST;
        return;
    }
    for (int s = HS_PLACEMENT; s <= HS_HARNESS; s++)
        if (!strcmp(name, once[s])) {
            if (L->sec_line[s]) {
                ini_fail(&L->ini, "[%s] given twice (line %d)", name, L->sec_line[s]);
                return;
            }
            L->sec_line[s] = L->ini.line;
            L->sec = (enum hsec)s;
            return;
        }
    ini_fail(&L->ini, "unknown section [%s] (expected [host NAME], [placement], [ssh], [harness])",
             name);
}

static int parse_ip(const char *s, uint32_t *out)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1)
        return -1;
    *out = ntohl(a.s_addr);
    return 0;
}

static int set_path(struct hloader *L, char *dst, const char *key, const char *v)
{
    if (!*v || strlen(v) >= HOSTS_PATH || strpbrk(v, "\n\r"))
        return ini_fail(&L->ini, "%s: expected a path of at most %d bytes", key, HOSTS_PATH - 1);
    snprintf(dst, HOSTS_PATH, "%s", v);
    return 1;
}

static int host_key(struct hloader *L, const char *key, const char *v)
{
    struct host *h = L->cur;
    if (!strcmp(key, "ssh")) {
        /* a destination, never an option: ssh would read "-oProxyCommand=..." as one */
        if (!*v || *v == '-' || strlen(v) >= sizeof(h->ssh) || strpbrk(v, " \t\n\r'\"\\"))
            return ini_fail(&L->ini,
                            "ssh: expected an ssh destination such as root@10.0.0.11, "
                            "got '%s'",
                            v);
        snprintf(h->ssh, sizeof(h->ssh), "%s", v);
        return 1;
    }
    if (!strcmp(key, "addr")) {
        char buf[512], *save = NULL;
        int before = h->n_addr; /* addr may be given on several lines */
        snprintf(buf, sizeof(buf), "%s", v);
        for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
            if (h->n_addr == HOSTS_ADDRS)
                return ini_fail(&L->ini, "addr: at most %d addresses", HOSTS_ADDRS);
            if (parse_ip(t, &h->addr[h->n_addr]) < 0)
                return ini_fail(&L->ini, "addr: '%s' is not an IPv4 address", t);
            h->n_addr++;
        }
        if (h->n_addr == before)
            return ini_fail(&L->ini, "addr: expected one or more IPv4 addresses");
        return 1;
    }
    if (!strcmp(key, "shim"))
        return set_path(L, h->shim, key, v);
    if (!strcmp(key, "server"))
        return set_path(L, h->server, key, v);
    if (!strcmp(key, "tmp")) {
        if (v[0] != '/' || strpbrk(v, " \t") || strstr(v, ".."))
            return ini_fail(&L->ini,
                            "tmp: expected an absolute path without blanks or '..', "
                            "got '%s'",
                            v);
        return set_path(L, h->tmp, key, v);
    }
    return ini_fail(&L->ini,
                    "unknown key '%s' in [host %s] (expected ssh, addr, shim, server, tmp)", key,
                    h->name);
}

static int on_key(void *ctx, const char *section, const char *key, const char *value)
{
    struct hloader *L = ctx;
    struct hosts *hs = L->hs;
    (void)section;
    switch (L->sec) {
    case HS_HOST:
        return host_key(L, key, value);
    case HS_PLACEMENT:
        if (hs->n_place == SCN_MAX_NODES)
            return ini_fail(&L->ini, "more than %d placements", SCN_MAX_NODES);
        if (strlen(key) >= sizeof(hs->place_node[0]) || !name_ok(value))
            return ini_fail(&L->ini, "placement: expected NODE = HOST, got '%s = %s'", key, value);
        snprintf(hs->place_node[hs->n_place], sizeof(hs->place_node[0]), "%s", key);
        snprintf(hs->place_host[hs->n_place], sizeof(hs->place_host[0]), "%s", value);
        hs->place_line[hs->n_place++] = L->ini.line;
        return 1;
    case HS_SSH:
        if (strcmp(key, "config") != 0)
            return ini_fail(&L->ini, "unknown key '%s' in [ssh] (expected config)", key);
        return set_path(L, hs->ssh_config, key, value);
    case HS_HARNESS:
        if (strcmp(key, "addr") != 0)
            return ini_fail(&L->ini, "unknown key '%s' in [harness] (expected addr)", key);
        if (parse_ip(value, &hs->harness_addr) < 0)
            return ini_fail(&L->ini, "addr: '%s' is not an IPv4 address", value);
        return 1;
    default:
        return ini_fail(&L->ini, "key '%s' outside a section", key);
    }
}

static int validate(void *ctx)
{
    (void)ctx;
    return 0;
}

static int finish(struct hloader *L)
{
    struct hosts *hs = L->hs;
    if (!hs->n)
        return ini_fail_at(&L->ini, 1, "no [host NAME] section");
    for (int i = 0; i < hs->n; i++) {
        if (!hs->h[i].ssh[0])
            return ini_fail_at(&L->ini, hs->h[i].line, "host %s: no ssh destination",
                               hs->h[i].name);
        if (!hs->h[i].n_addr)
            return ini_fail_at(&L->ini, hs->h[i].line, "host %s: no addr", hs->h[i].name);
    }
    for (int i = 0; i < hs->n; i++)
        for (int a = 0; a < hs->h[i].n_addr; a++)
            for (int j = i; j < hs->n; j++)
                for (int b = j == i ? a + 1 : 0; b < hs->h[j].n_addr; b++)
                    if (hs->h[i].addr[a] == hs->h[j].addr[b])
                        return ini_fail_at(&L->ini, hs->h[j].line,
                                           "host %s: an address of host %s again", hs->h[j].name,
                                           hs->h[i].name);
    return 0;
}

static int load(struct hosts *hs, const char *name, const char *file, const char *text, char *err,
                size_t el)
{
    struct hloader L;
    memset(hs, 0, sizeof(*hs));
    memset(&L, 0, sizeof(L));
    L.hs = hs;
    L.ini.kind = "hosts";
    L.ini.first = "[host NAME]";
    L.ini.on_section = on_section;
    L.ini.on_key = on_key;
    L.ini.validate = validate;
    L.ini.ctx = &L;
    snprintf(hs->file, sizeof(hs->file), "%s", name);
    if (ini_load(&L.ini, name, file, text, err, el) < 0)
        return -1;
    if (finish(&L) < 0) {
        snprintf(err, el, "%s:%d: %s", name, L.ini.err_line, L.ini.err);
        return -1;
    }
    return 0;
}

int hosts_load(struct hosts *hs, const char *file, char *err, size_t el)
{
    return load(hs, file, file, NULL, err, el);
}

int hosts_load_string(struct hosts *hs, const char *name, const char *text, char *err, size_t el)
{
    return load(hs, name, NULL, text, err, el);
}

static int host_index(const struct hosts *hs, const char *name)
{
    for (int i = 0; i < hs->n; i++)
        if (!strcmp(hs->h[i].name, name))
            return i;
    return -1;
}

/* The next host with a free address for node i, from a rotating start;
 * one without i's primary (or i's replicas) first. */
static int pick_host(const struct hosts *hs, const struct scenario *s, const int *node_host,
                     const int *used, int i, int start)
{
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < hs->n; k++) {
            int h = (start + k) % hs->n;
            bool shares = false;
            if (used[h] >= hs->h[h].n_addr)
                continue;
            for (int j = 0; j < s->n_nodes && pass == 0; j++)
                if (node_host[j] == h &&
                    (s->primary_of[i] == j || s->primary_of[j] == i ||
                     (s->primary_of[i] >= 0 && s->primary_of[i] == s->primary_of[j])))
                    shares = true;
            if (!shares)
                return h;
        }
    return -1;
}

int hosts_place(const struct hosts *hs, const struct scenario *s, int *node_host, uint32_t *node_ip,
                char *err, size_t el)
{
    int used[HOSTS_MAX] = {0}, next = 0;
    for (int i = 0; i < s->n_nodes; i++)
        node_host[i] = -1;
    for (int k = 0; k < hs->n_place; k++) {
        int n = scn_node(s, hs->place_node[k]), h = host_index(hs, hs->place_host[k]);
        if (n < 0 || n >= s->n_nodes)
            return snprintf(err, el, "%s:%d: placement: no node %s in this scenario", hs->file,
                            hs->place_line[k], hs->place_node[k]),
                   -1;
        if (h < 0)
            return snprintf(err, el, "%s:%d: placement: no host %s", hs->file, hs->place_line[k],
                            hs->place_host[k]),
                   -1;
        if (node_host[n] >= 0)
            return snprintf(err, el, "%s:%d: placement: %s placed twice", hs->file,
                            hs->place_line[k], hs->place_node[k]),
                   -1;
        if (used[h] >= hs->h[h].n_addr)
            return snprintf(err, el,
                            "%s:%d: placement: host %s has %d address%s for more nodes (every "
                            "node needs its own: addr = A, B, ...)",
                            hs->file, hs->place_line[k], hs->h[h].name, hs->h[h].n_addr,
                            hs->h[h].n_addr == 1 ? "" : "es"),
                   -1;
        node_host[n] = h;
        node_ip[n] = hs->h[h].addr[used[h]++];
    }
    for (int i = 0; i < s->n_nodes; i++) {
        int h;
        if (node_host[i] >= 0)
            continue;
        if ((h = pick_host(hs, s, node_host, used, i, next)) < 0)
            return snprintf(err, el,
                            "%s: %d nodes, and the hosts have too few addresses (every node "
                            "needs its own: addr = A, B, ...)",
                            hs->file, s->n_nodes),
                   -1;
        node_host[i] = h;
        node_ip[i] = hs->h[h].addr[used[h]++];
        next = (h + 1) % hs->n;
    }
    return 0;
}
