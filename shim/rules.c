/* rules: turning rules on and off, and the iptables jobs that install
 * and remove their NFQUEUE rules, one child process at a time. */
#include "daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipt.h"

static void job_pop(struct shim *s)
{
    memmove(&s->jobs[0], &s->jobs[1], (size_t)--s->njobs * sizeof(s->jobs[0]));
}

/* Jobs are scripted when they start, from what is committed, so a failed
 * change never leaves the INPUT jump or a rule's state out of step. */
static void job_start_next(struct shim *s)
{
    char err[512];
    while (s->job_pid <= 0 && s->njobs > 0) {
        struct ipt_job *j = &s->jobs[0];
        struct rule_rt *rt = &s->rt[j->rule];
        char *script = NULL;
        size_t len = 0;
        FILE *f;
        if (rt->installed == j->add) {
            if (j->client >= 0)
                s->reply(s, j->client, "ok");
            job_pop(s);
            continue;
        }
        f = open_memstream(&script, &len);
        if (f) {
            ipt_script_begin(f);
            if (j->add && s->n_installed == 0)
                ipt_script_jump(f, s->chain, true);
            ipt_script_rule(f, s->chain, s->pol->shim.queue, s->pol->shim.queues,
                            s->pol->rules[j->rule].name, rt->pats, rt->npats, j->add);
            if (!j->add && s->n_installed == 1)
                ipt_script_jump(f, s->chain, false);
            ipt_script_end(f);
            fclose(f);
            s->job_pid = ipt_spawn(script, len, &s->job_errfd, err, sizeof(err));
        } else {
            snprintf(err, sizeof(err), "out of memory");
        }
        free(script);
        if (s->job_pid > 0)
            return;
        s->job_pid = 0;
        if (j->add)
            rt->active = false;
        if (j->client >= 0)
            s->reply(s, j->client, "error: %s", err);
        job_pop(s);
    }
}

void rules_job_done(struct shim *s, int status)
{
    char err[768];
    struct ipt_job *j = &s->jobs[0];
    struct rule_rt *rt = &s->rt[j->rule];
    int rc = ipt_finish(s->job_pid, status, s->job_errfd, err, sizeof(err));
    s->job_pid = 0;
    if (rc == 0) {
        rt->installed = j->add;
        s->n_installed += j->add ? 1 : -1;
    } else {
        /* iptables-restore applies all or nothing: the rule cannot be on. */
        fprintf(stderr, "rift-shim: %s\n", err);
        if (j->add)
            rt->active = false;
    }
    if (j->client >= 0) {
        if (rc < 0)
            s->reply(s, j->client, "error: %s", err);
        else
            s->reply(s, j->client, "ok");
    }
    job_pop(s);
    job_start_next(s);
}

static void job_add_rule(struct shim *s, int ri, bool add, int client)
{
    if (s->njobs == MAX_JOBS) {
        if (add)
            s->rt[ri].active = false;
        if (client >= 0)
            s->reply(s, client, "error: too many iptables changes pending");
        return;
    }
    s->jobs[s->njobs++] = (struct ipt_job){.rule = ri, .add = add, .client = client};
    job_start_next(s);
}

/* Wait for the job in progress and drop the others (shutdown). */
void rules_abandon_jobs(struct shim *s)
{
    if (s->job_pid > 0) {
        char err[512];
        if (ipt_finish(s->job_pid, -1, s->job_errfd, err, sizeof(err)) < 0)
            fprintf(stderr, "rift-shim: %s\n", err);
        s->job_pid = 0;
    }
    for (int i = 0; i < s->njobs; i++)
        if (s->jobs[i].client >= 0)
            s->reply(s, s->jobs[i].client, "error: shim is stopping");
    s->njobs = 0;
}

void rules_on(struct shim *s, int ri, uint64_t now, int client)
{
    struct rule_rt *rt = &s->rt[ri];
    const struct pol_rule *r = &s->pol->rules[ri];
    rt->on_at = 0;
    rt->off_at = r->duration_ns ? now + r->duration_ns : 0;
    if (!rt->active)
        fprintf(stderr, "rift-shim: %.3f s: rule %s on\n", (double)shim_since_us(s, now) / 1e6,
                r->name);
    rt->active = true;
    if (s->use_ipt) {
        job_add_rule(s, ri, true, client);
        return;
    }
    if (client >= 0)
        s->reply(s, client, "ok");
}

void rules_off(struct shim *s, int ri, uint64_t now, int client)
{
    struct rule_rt *rt = &s->rt[ri];
    rt->on_at = 0;
    rt->off_at = 0;
    if (rt->active)
        fprintf(stderr, "rift-shim: %.3f s: rule %s off (releasing %zu held)\n",
                (double)shim_since_us(s, now) / 1e6, s->pol->rules[ri].name,
                hold_count(&rt->store));
    rt->active = false;
    /* Held packets leave first, in order; packets queued after this pass. */
    path_release_rule(s, ri, now, true);
    path_flush(s);
    if (s->use_ipt) {
        job_add_rule(s, ri, false, client);
        return;
    }
    if (client >= 0)
        s->reply(s, client, "ok");
}

void rules_schedule(struct shim *s, uint64_t now)
{
    for (int i = 0; i < s->pol->n_rules; i++) {
        struct rule_rt *rt = &s->rt[i];
        if (rt->on_at && rt->on_at <= now)
            rules_on(s, i, now, -1);
        if (rt->off_at && rt->off_at <= now)
            rules_off(s, i, now, -1);
    }
}
