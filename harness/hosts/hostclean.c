/* hostclean: `rift cleanup --hosts`, what a killed run left on its hosts. */
#include "../sys/rfile.h"
#include "hostrun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../proto/pstat.h"
#include "../sys/proc.h"

/* `rift cleanup --hosts`: for a run that is gone, its folder on each host
 * it names is cleaned by the agent there (processes by PID and start
 * time, the shim's chains, the folder). A host that does not answer keeps
 * the run for another try. */
int hr_cleanup_remote(const char *regdir, const char *id, void *ctx)
{
    const struct hosts *all = ctx;
    static struct hosts sub;
    struct remote rm;
    char file[400], line[600], host[64], rdir[400], tmp[] = "/tmp/rift-cleanup-XXXXXX";
    char names[HOSTS_MAX][64], dirs[HOSTS_MAX][400], q[HOSTS_MAX][20], e[512];
    int n = 0, rc = 0;
    FILE *f;
    snprintf(file, sizeof(file), "%s/remote", regdir);
    if (!(f = fopen(file, "r")))
        return 0;
    memset(&sub, 0, sizeof(sub));
    snprintf(sub.file, sizeof(sub.file), "%s", all->file);
    snprintf(sub.ssh_config, sizeof(sub.ssh_config), "%s", all->ssh_config);
    while (n < HOSTS_MAX && fgets(line, sizeof(line), f)) {
        const char *p = line;
        char owner[20];
        if (!(pstat_word(&p, host, sizeof(host)) && pstat_word(&p, rdir, sizeof(rdir)) &&
              pstat_word(&p, owner, sizeof(owner)) && owner[0])) {
            /* a record rift cannot read is kept, never taken for nothing left */
            printf("rift cleanup: run %s: unreadable line in %s: kept\n", id, file);
            fclose(f);
            return -1;
        }
        {
            int h = -1;
            for (int k = 0; k < all->n; k++)
                if (!strcmp(all->h[k].name, host))
                    h = k;
            if (h < 0) {
                printf("rift cleanup: run %s: host %s is not in %s: kept\n", id, host, all->file);
                fclose(f);
                return -1;
            }
            sub.h[sub.n++] = all->h[h];
            snprintf(names[n], sizeof(names[n]), "%s", host);
            snprintf(dirs[n], sizeof(dirs[n]), "%s", rdir);
            snprintf(q[n], sizeof(q[n]), "%s", owner);
            n++;
        }
    }
    fclose(f);
    if (!n)
        return 0;
    if (!mkdtemp(tmp))
        return -1;
    memset(&rm, 0, sizeof(rm));
    if (remote_open(&rm, &sub, tmp, NULL, e, sizeof(e)) < 0) {
        printf("rift cleanup: run %s: %s: kept\n", id, e);
        rc = -1;
    } else {
        for (int k = 0; k < n; k++) {
            char out[256] = "", *words[] = {"cleanup", dirs[k], q[k], NULL};
            if (remote_agent(&rm, k, words, out, sizeof(out), e, sizeof(e)) != 0) {
                printf("rift cleanup: run %s: host %s: %s: kept\n", id, names[k], e);
                rc = -1;
            } else {
                printf("rift cleanup: run %s: host %s: %s removed, %s", id, names[k], dirs[k],
                       out[0] ? out : "\n");
            }
        }
    }
    remote_close(&rm);
    rfile_rm_rf(tmp);
    return rc;
}
