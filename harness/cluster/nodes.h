/* nodes: the servers of a run: which binary and how it is launched
 * (flavours), starting one, commands on a node's admin connection, and
 * signals that only ever reach a live server this run started. */
#ifndef RIFT_NODES_H
#define RIFT_NODES_H

#include "runstate.h"

/* The server binary and its launcher for a flavour name or a path: 0, -1
 * for a bad name, -2 when the flavour is not fetched (err says how). */
int node_pick_server(struct run *r, const char *server, char *err, size_t el);
/* Reads `--version` into r->server_version: 0 or -1. */
int node_server_version(struct run *r);
int node_start(struct run *r, int i, char *err, size_t el);
redisContext *node_connect(const struct run *r, int i, int timeout_ms);
/* A command on node i's admin connection; reconnects once. The reply
 * (caller frees) or NULL. */
redisReply *node_cmd(struct run *r, int i, const char *fmt, ...);
/* A command given as space-separated words. */
redisReply *node_words(struct run *r, int i, const char *cmd);
bool node_ok(struct run *r, int i, const char *cmd, char *err, size_t el);
/* Node i is down, and why (for steps skipped on it). */
void node_down(struct run *r, int i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool node_usable(struct run *r, int i, char *why, size_t wl);
/* 0 signalled; 1 not, the node is not running (why says so: a step on it
 * is skipped); -1 rift could not signal it (why: the run's error). */
int node_signal(struct run *r, int i, int sig, char *why, size_t wl);

#endif
