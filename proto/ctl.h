/* ctl: the shim's control protocol, one text line per request and reply:
 * on RULE | off RULE | set RULE KEY VALUE | stats | release | quit. */
#ifndef RIFT_CTL_H
#define RIFT_CTL_H

#include <stddef.h>
#include <sys/types.h>

#define CTL_LINE_MAX 1024
/* The longest reply a client takes: stats of many rules fit easily. */
#define CTL_REPLY_MAX (4 << 20)

enum ctl_op { CTL_ON, CTL_OFF, CTL_SET, CTL_STATS, CTL_RELEASE, CTL_QUIT };

struct ctl_cmd {
    enum ctl_op op;
    char rule[64];
    char key[64];
    char value[256];
};

/* Parse one request line (no newline needed). 0, or -1 with err. */
int ctl_parse(const char *line, struct ctl_cmd *c, char *err, size_t errlen);

/* The file ctl_listen bound, so that only it is removed at the end. */
struct ctl_bound {
    dev_t dev;
    ino_t ino;
};
/* Listening socket at path, mode 0600; parent directory created if
 * missing. A socket nobody answers on is replaced; anything else at path
 * is refused. Returns the fd or -1 with err. */
int ctl_listen(const char *path, struct ctl_bound *b, char *err, size_t errlen);
/* Remove path if it is still the socket ctl_listen bound there. */
void ctl_unlink(const char *path, const struct ctl_bound *b);

/* One request line, one reply line (without its newline) into reply.
 * 0, or -1 with err; a reply that does not fit in len bytes or does not
 * end with a newline is an error, never a silently shortened reply. */
int ctl_request(const char *path, const char *line, char *reply, size_t len, int timeout_ms,
                char *err, size_t errlen);

/* `rift-shim ctl SOCKET WORDS...`: send the words as one line, print the
 * reply. Exit status: 0 ok, 1 error reply, 2 no shim there. */
int ctl_client(const char *path, int argc, char **argv);

#endif
