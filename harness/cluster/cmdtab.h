/* cmdtab: the command table the CROSSSLOT audit finds keys with, always
 * the server's own: read with COMMAND from a node of the run, from a
 * server binary started for a moment on a unix socket (rift audit
 * --server), or from a saved COMMAND reply (rift audit --commands). */
#ifndef RIFT_CMDTAB_H
#define RIFT_CMDTAB_H

#include <stddef.h>
#include <stdint.h>

#include "../../proto/keyspec.h"

/* COMMAND on a node: ip:port, the connection bound to source. */
int cmdtab_tcp(uint32_t ip, int port, uint32_t source, const char *pass, struct ks_table *t,
               char *err, size_t el);
/* A file holding a COMMAND reply as the server sent it (RESP2 or RESP3). */
int cmdtab_file(const char *file, struct ks_table *t, char *err, size_t el);
/* Starts the flavour or binary `server` (as `rift run` names them) on a
 * unix socket in a temp dir, reads COMMAND and its version, stops it and
 * removes the dir. -1 with err; -2 when the server is not installed. */
int cmdtab_server(const char *server, struct ks_table *t, char *version, size_t vl, char *err,
                  size_t el);

#endif
