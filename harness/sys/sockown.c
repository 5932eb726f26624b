/* sockown: the process behind a listening TCP address (sockown.h). */
#include "sockown.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../proto/pstat.h"
#include "proc.h"

/* The next word of *s as a hex number (up to ':' or a blank). */
static unsigned long hexword(const char **s)
{
    char *end;
    unsigned long v;
    while (**s == ' ')
        (*s)++;
    v = strtoul(*s, &end, 16);
    *s = end;
    if (**s == ':')
        (*s)++;
    return v;
}

/* Past the next blank-separated word. */
static void skip_word(const char **s)
{
    while (**s == ' ')
        (*s)++;
    while (**s && **s != ' ' && **s != '\n')
        (*s)++;
}

uint64_t sockown_listen_inode(const char *tcp, uint32_t ip, uint16_t port)
{
    const char *line = strchr(tcp, '\n'); /* the header */
    while (line && *++line) {
        /* sl: local:port rem:port st tx:rx tr:when retr uid timeout inode */
        const char *p = line;
        unsigned long a, lp, st, inode;
        skip_word(&p); /* "N:" */
        a = hexword(&p);
        lp = hexword(&p);
        skip_word(&p); /* remote */
        st = hexword(&p);
        for (int k = 0; k < 5; k++)
            skip_word(&p); /* tx:rx tr:when retr uid timeout */
        while (*p == ' ')
            p++;
        inode = strtoul(p, NULL, 10);
        if (st == 0x0A && lp == port && (ntohl((uint32_t)a) == ip || a == 0) && inode)
            return inode;
        line = strchr(line, '\n');
    }
    return 0;
}

bool sockown_fib_local(const char *fib, uint32_t ip)
{
    char want[INET_ADDRSTRLEN + 8];
    struct in_addr in = {.s_addr = htonl(ip)};
    const char *at = fib;
    size_t wl;
    snprintf(want, sizeof(want), "|-- %s\n", inet_ntop(AF_INET, &in, want + 8, INET_ADDRSTRLEN));
    wl = strlen(want);
    while ((at = strstr(at, want))) {
        const char *next = at + wl, *end = strstr(next, "|-- ");
        const char *local = strstr(next, "/32 host LOCAL");
        if (local && (!end || local < end))
            return true;
        at = next;
    }
    return false;
}

static uint64_t netns_of(pid_t pid)
{
    char path[64];
    struct stat st;
    if (pid)
        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
    else
        snprintf(path, sizeof(path), "/proc/self/ns/net");
    return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static bool holds_socket(pid_t pid, uint64_t inode)
{
    char path[64], want[48], link[64];
    DIR *d;
    struct dirent *e;
    bool found = false;
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    snprintf(want, sizeof(want), "socket:[%llu]", (unsigned long long)inode);
    if (!(d = opendir(path)))
        return false;
    while (!found && (e = readdir(d))) {
        char fdp[320];
        ssize_t n;
        if (e->d_name[0] == '.')
            continue;
        snprintf(fdp, sizeof(fdp), "%s/%s", path, e->d_name);
        n = readlink(fdp, link, sizeof(link) - 1);
        if (n > 0) {
            link[n] = '\0';
            found = !strcmp(link, want);
        }
    }
    closedir(d);
    return found;
}

int sockown_find(uint32_t ip, uint16_t port, struct sockown *out)
{
    uint64_t self = netns_of(0), seen[256], ns = 0, inode = 0;
    int n_seen = 0;
    bool here;
    DIR *d;
    struct dirent *e;
    char *fib = proc_read_file("/proc/self/net/fib_trie", NULL);
    here = (ip >> 24) == 127 || (fib && sockown_fib_local(fib, ip));
    free(fib);
    memset(out, 0, sizeof(*out));
    if (here) {
        char *tcp = proc_read_file("/proc/self/net/tcp", NULL);
        inode = tcp ? sockown_listen_inode(tcp, ip, port) : 0;
        free(tcp);
        ns = self;
    }
    if (!(d = opendir("/proc")))
        return -1;
    /* the namespace that has the address, unless it is this one */
    while (!here && !inode && (e = readdir(d))) {
        pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
        uint64_t n = pid > 0 ? netns_of(pid) : 0;
        char path[64];
        char *text;
        bool known = !n || n == self;
        for (int i = 0; !known && i < n_seen; i++)
            known = seen[i] == n;
        if (known)
            continue;
        if (n_seen < (int)(sizeof(seen) / sizeof(seen[0])))
            seen[n_seen++] = n;
        snprintf(path, sizeof(path), "/proc/%d/net/fib_trie", (int)pid);
        if (!(text = proc_read_file(path, NULL)) || !sockown_fib_local(text, ip)) {
            free(text);
            continue;
        }
        free(text);
        snprintf(path, sizeof(path), "/proc/%d/net/tcp", (int)pid);
        if ((text = proc_read_file(path, NULL)))
            inode = sockown_listen_inode(text, ip, port);
        free(text);
        ns = n;
    }
    if (!inode) {
        closedir(d);
        errno = ENOENT;
        return -1;
    }
    /* the oldest process of that namespace holding the socket (a fork
     * for a snapshot holds it too) */
    rewinddir(d);
    while ((e = readdir(d))) {
        pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
        uint64_t start;
        if (pid <= 0 || netns_of(pid) != ns || !holds_socket(pid, inode))
            continue;
        start = pstat_start_time(pid);
        if (start && (!out->pid || start < out->start)) {
            out->pid = pid;
            out->start = start;
        }
    }
    closedir(d);
    if (!out->pid) {
        errno = ENOENT;
        return -1;
    }
    out->netns = ns;
    out->same_netns = ns == self;
    {
        char path[64], *c;
        snprintf(path, sizeof(path), "/proc/%d/comm", (int)out->pid);
        if ((c = proc_read_file(path, NULL))) {
            snprintf(out->comm, sizeof(out->comm), "%.*s", (int)strcspn(c, "\n"), c);
            free(c);
        }
    }
    return 0;
}
