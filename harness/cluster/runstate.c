/* runstate: the clock, progress lines, addresses. */
#include "runstate.h"

#include "../sys/clock.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/random.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../proto/pkt.h"

volatile sig_atomic_t run_interrupted;

uint64_t run_now_ns(void)
{
    return clk_now_ns();
}

int64_t run_ms(const struct run *r)
{
    return r->t_ready ? (int64_t)(run_now_ns() - r->t_ready) / 1000000 : 0;
}

void run_progress(struct run *r, const char *fmt, ...)
{
    va_list ap;
    if (r->o && r->o->quiet)
        return;
    fprintf(stderr, "[%8.3f] ", (double)(run_now_ns() - r->t_start) / 1e9);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

uint64_t run_random_seed(void)
{
    uint64_t seed;
    if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
        seed = (uint64_t)time(NULL);
    return seed & 0xffffffffffffull;
}

void run_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

const char *run_file_tail(const char *path, int lines, char *buf, size_t len)
{
    FILE *in = fopen(path, "r");
    size_t n, start;
    if (!in || len < 2) {
        if (in)
            fclose(in);
        return NULL;
    }
    if (fseek(in, 0, SEEK_END) == 0 && ftell(in) > (long)len - 1)
        fseek(in, -(long)len + 1, SEEK_END);
    else
        rewind(in);
    n = fread(buf, 1, len - 1, in);
    fclose(in);
    buf[n] = '\0';
    /* back from the end (a last newline does not start a line) */
    start = n && buf[n - 1] == '\n' ? n - 1 : n;
    for (int seen = 0; start > 0; start--)
        if (buf[start - 1] == '\n' && ++seen == lines)
            break;
    return buf + start;
}

void run_source(const struct run *r, uint32_t local_ip, char *out, size_t len)
{
    uint32_t ip = r->hr || r->far ? r->harness_ip : local_ip;
    if (ip)
        pkt_addr(ip, out, len);
    else if (len)
        out[0] = '\0';
}

void run_node_addr(const struct run *r, int i, char *out, size_t len)
{
    char ip[32];
    pkt_addr(scn_node_ip(r->scn, i), ip, sizeof(ip));
    snprintf(out, len, "%s:%d", ip, r->scn->faults.nodes[i].port);
}

void run_track_convergence(struct run *r, bool converged)
{
    if (converged && r->converged_ms < 0)
        r->converged_ms = run_ms(r);
    else if (!converged)
        r->converged_ms = -1;
}

bool run_settled(const struct run *r, bool migrations_done, bool probes_healed, uint64_t heal_ns)
{
    int64_t stable;
    if (!migrations_done || r->converged_ms < 0)
        return false;
    stable = run_ms(r) - r->converged_ms;
    if (stable < 1000)
        return false;
    if (!r->scn->n_probes)
        return true;
    return r->probes_started && (probes_healed || (uint64_t)stable * 1000000ull >= heal_ns);
}

int run_make_password(struct run *r)
{
    unsigned char b[16];
    if (r->scn->password[0]) {
        snprintf(r->password, sizeof(r->password), "%s", r->scn->password);
        return 0;
    }
    /* never from the seed: a replay must not know another run's password */
    if (getrandom(b, sizeof(b), 0) != sizeof(b))
        return -1;
    for (size_t k = 0; k < sizeof(b); k++)
        snprintf(r->password + 2 * k, 3, "%02x", b[k]);
    return 0;
}

void run_replay(const struct run *r, struct run_replay *rp)
{
    const struct scn_app *a = &r->scn->app;
    int n = 0;
    /* absolute, so that the line works from any folder */
    if (!realpath(r->scn->file, rp->file))
        snprintf(rp->file, sizeof(rp->file), "%s", r->scn->file);
    snprintf(rp->seed, sizeof(rp->seed), "%" PRIu64, r->seed);
    rp->argv[n++] = "rift";
    rp->argv[n++] = "run";
    rp->argv[n++] = rp->file;
    rp->argv[n++] = "--seed";
    rp->argv[n++] = rp->seed;
    if (r->o->attach) {
        rp->argv[n++] = "--attach";
        rp->argv[n++] = r->o->attach;
    } else if (!r->att) { /* an attached cluster runs its own servers */
        rp->argv[n++] = "--server";
        rp->argv[n++] = r->server_name;
    }
    if (r->o->hosts_file) {
        if (!realpath(r->o->hosts_file, rp->hosts))
            snprintf(rp->hosts, sizeof(rp->hosts), "%s", r->o->hosts_file);
        rp->argv[n++] = "--hosts";
        rp->argv[n++] = rp->hosts;
    }
    if (a->on && !a->line) {
        rp->argv[n++] = "--";
        for (int i = 0; i < a->argc; i++)
            rp->argv[n++] = a->words + a->argv_off[i];
    }
    rp->argv[n] = NULL;
    rp->argc = n;
}
