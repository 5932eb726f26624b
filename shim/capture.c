/* capture: libpcap dump + JSON-lines event log. */
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/* path for writing as root, which a policy names: never through a link, and
 * only a regular file of its own (not a hard link of another), emptied
 * once it is open, 0600. NULL with errno. */
static FILE *open_output(const char *path)
{
    struct stat st;
    FILE *f;
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != geteuid()) {
        close(fd);
        errno = EPERM;
        return NULL;
    }
    /* it may hold the run's passwords: 0600, even as a last run's file */
    if (fchmod(fd, 0600) != 0 || ftruncate(fd, 0) != 0 || !(f = fdopen(fd, "w"))) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    return f;
}

static const char *why(int e)
{
    return e == ELOOP   ? "a symbolic link"
           : e == EPERM ? "not a regular file of its own"
                        : strerror(e);
}

int capture_open(struct capture *c, const char *path, char *err, size_t errlen)
{
    size_t n = strlen(path);
    FILE *f;
    memset(c, 0, sizeof(*c));
    c->pcap = pcap_open_dead(DLT_RAW, 65535);
    if (!c->pcap) {
        snprintf(err, errlen, "capture: pcap_open_dead failed");
        return -1;
    }
    if (!(f = open_output(path))) {
        snprintf(err, errlen, "capture: cannot write %s: %s", path, why(errno));
        pcap_close(c->pcap);
        c->pcap = NULL;
        return -1;
    }
    c->dumper = pcap_dump_fopen(c->pcap, f);
    if (!c->dumper) {
        fclose(f);
        snprintf(err, errlen, "capture: %s", pcap_geterr(c->pcap));
        pcap_close(c->pcap);
        c->pcap = NULL;
        return -1;
    }
    if (n > 5 && !strcmp(path + n - 5, ".pcap"))
        snprintf(c->events_path, sizeof(c->events_path), "%.*s.events.jsonl", (int)(n - 5), path);
    else
        snprintf(c->events_path, sizeof(c->events_path), "%s.events.jsonl", path);
    c->events = open_output(c->events_path);
    if (!c->events) {
        snprintf(err, errlen, "capture: cannot write %s: %s", c->events_path, why(errno));
        capture_close(c);
        return -1;
    }
    setvbuf(c->events, NULL, _IOFBF, 1 << 16);
    return 0;
}

void capture_packet(struct capture *c, const unsigned char *data, uint32_t caplen, uint32_t len)
{
    struct pcap_pkthdr h;
    if (!c->dumper)
        return;
    gettimeofday(&h.ts, NULL);
    h.caplen = caplen;
    h.len = len;
    pcap_dump(c->dumper, &h, data);
    c->packets++;
}

void capture_event(struct capture *c, uint64_t t_us, const char *rule, const char *pkt,
                   const char *decision, const char *detail)
{
    if (!c->events)
        return;
    fprintf(c->events, "{\"t\":%llu.%06llu,\"rule\":", (unsigned long long)(t_us / 1000000),
            (unsigned long long)(t_us % 1000000));
    if (rule)
        fprintf(c->events, "\"%s\"", rule);
    else
        fputs("null", c->events);
    fprintf(c->events, ",\"pkt\":\"%s\",\"decision\":\"%s\"", pkt, decision);
    if (detail)
        fprintf(c->events, ",%s", detail);
    fputs("}\n", c->events);
}

void capture_close(struct capture *c)
{
    if (c->dumper) {
        pcap_dump_close(c->dumper);
        c->dumper = NULL;
    }
    if (c->pcap) {
        pcap_close(c->pcap);
        c->pcap = NULL;
    }
    if (c->events) {
        fclose(c->events);
        c->events = NULL;
    }
}
