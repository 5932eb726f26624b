/* audit: the commands a cluster would refuse, found in captured client
 * traffic: multi-key commands whose keys hash to more than one slot,
 * MULTI/EXEC blocks whose commands touch more than one slot, scripts and
 * functions whose declared keys span slots, and the use of databases
 * other than 0. Which arguments are keys comes from the server's own
 * command table (proto/keyspec). Also counts the CROSSSLOT errors the
 * servers sent back. */
#ifndef RIFT_AUDIT_H
#define RIFT_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../../proto/keyspec.h"
#include "tcpflow.h"

#define AU_MAX_FINDINGS 1000
#define AU_KEYS 8       /* keys kept per finding */
#define AU_KEY_MAX 120  /* bytes kept of a key */
#define AU_MAX_NAMES 64 /* distinct unknown or partly known commands */
#define AU_MAX_PORTS 16
#define AU_DB_UNREADABLE (-2) /* SWAPDB or MOVE with a database number rift cannot read */

struct au_finding {
    char command[KS_NAME_MAX]; /* "MSET", "XINFO STREAM", "MULTI", "SELECT" */
    char commands[256];        /* MULTI: what it held, "SET INCR" */
    char script[44]; /* EVALSHA: the SHA1; EVAL: the script's start; FCALL: the function */
    char keys[AU_KEYS][AU_KEY_MAX];
    int nkeys; /* kept */
    long db;   /* SELECT, SWAPDB, MOVE, COPY: the database; -1 none; AU_DB_UNREADABLE */
    uint16_t *slots;
    int nslots;
    uint64_t count;
    uint64_t first_ms;
    char client[64];
    uint64_t hash;
};

struct au_name {
    char name[40];
    uint64_t count;
};

struct au_opts {
    uint16_t ports[AU_MAX_PORTS]; /* server ports to read (none: every TCP port) */
    int nports;
};

struct audit {
    const struct ks_table *tab;
    struct au_opts o;
    struct tf_table tf;
    uint64_t t0_us, now_us; /* first_ms counts from t0 (0: the first frame) */
    struct au_finding *f;
    int nf;
    uint64_t findings_dropped; /* distinct findings beyond AU_MAX_FINDINGS */
    /* what was read */
    uint64_t requests, replies, crossslot_errors, clients;
    uint64_t not_resp, undecodable; /* connections */
    uint64_t dropped_frames;        /* a live capture's kernel drops */
    int64_t server_ops;             /* Redis 8's own cluster_incompatible_ops, -1 unknown */
    struct au_name unknown[AU_MAX_NAMES], partial[AU_MAX_NAMES];
    int nunknown, npartial;
    char first_bad[160]; /* the first undecodable connection and why */
    /* per request */
    uint8_t slotmap[KS_SLOTS / 8];
    uint16_t touched[KS_SLOTS];
    int ntouched;
};

int au_init(struct audit *a, const struct ks_table *tab, const struct au_opts *o);
/* One captured frame of libpcap link type lt at ts_us (wall clock, us). */
void au_frame(struct audit *a, int lt, const uint8_t *frame, size_t caplen, uint64_t ts_us);
/* The end of the capture: connections still open are read to their end. */
void au_finish(struct audit *a);
void au_free(struct audit *a);

/* Reads a capture file (pcap or pcapng). 0, or -1 with err. */
int au_read_pcap(struct audit *a, const char *file, char *err, size_t errlen);

/* report.json's "crossslot" list and "crossslot_audit" object, as JSON
 * members each after a comma. */
void au_json(const struct audit *a, FILE *f);
/* The findings as a table, for the summary and `rift audit`. */
void au_table(const struct audit *a, FILE *f);
uint64_t au_total(const struct audit *a); /* requests with findings */
/* Traffic the audit could not read (lost frames, holes, undecodable
 * bytes, connections beyond its table): 0 when it read everything. */
uint64_t au_unread(const struct audit *a);

#endif
