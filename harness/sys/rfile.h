/* rfile: the folders rift writes for its caller (--report of run, chaos
 * and matrix, their subfolders, shrink --out) and every file in them,
 * made relative to the folder's descriptor and never through a link. */
#ifndef RIFT_RFILE_H
#define RIFT_RFILE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* A new report folder is 0700; the caller's own one keeps its mode, which
 * decides who gets in. Inside it the documents a caller shares (summary,
 * report.json, junit.xml, the HTML pages, scenarios) are RFILE_SHARED and
 * everything copied from the run (logs, captures, the shim's files, views,
 * the bus timeline), which may hold its passwords and keys, RFILE_PRIVATE. */
#define RFILE_SHARED 0644
#define RFILE_PRIVATE 0600
#define RFILE_PATH_MAX 600

struct rfile_dir {
    int fd;                    /* O_DIRECTORY | O_NOFOLLOW, or -1 */
    char path[RFILE_PATH_MAX]; /* as given: for messages and for `rift run` children */
};

/* A closed one (fd -1), for structs that may never open theirs. */
void rfile_dir_init(struct rfile_dir *d);
/* path as a report folder: made (0700, missing parents 0755 as mkdir -p)
 * when it is not there; one that is must be a directory, not a symbolic
 * link, owned by the caller's uid and not writable by group or others.
 * 0, or -errno with err ("PATH: owned by uid 65534, not yours (uid 0)"). */
int rfile_dir_open(struct rfile_dir *d, const char *path, char *err, size_t el);
/* Folder name (one component) inside parent, by the same rules. */
int rfile_dir_sub(const struct rfile_dir *parent, const char *name, struct rfile_dir *sub,
                  char *err, size_t el);
/* A second descriptor of the same folder. 0 or -errno. */
int rfile_dir_dup(const struct rfile_dir *from, struct rfile_dir *to);
void rfile_dir_close(struct rfile_dir *d);

/* name in d, written to a temp file made new beside it (O_EXCL) that
 * rfile_fclose renames over name: whatever name was (a symbolic link, a
 * hard link, someone's file) is replaced, never written through. NULL with
 * errno. */
FILE *rfile_fopen(const struct rfile_dir *d, const char *name, mode_t mode);
/* Closes f and puts it in place: 0, or -errno (the temp file removed,
 * name as it was). */
int rfile_fclose(const struct rfile_dir *d, FILE *f, const char *name);
/* Closes f and drops it: name stays as it was. */
void rfile_fabort(const struct rfile_dir *d, FILE *f, const char *name);
int rfile_put(const struct rfile_dir *d, const char *name, const char *text, mode_t mode);
/* A copy of the regular file from (not a link to one): 0, -ENOENT when
 * there is none, or -errno. */
int rfile_copy(const struct rfile_dir *d, const char *name, const char *from, mode_t mode);
/* Removes the files and links directly in d that keep (NULL-ended) does
 * not name; folders stay. The bytes removed, or -errno. */
int64_t rfile_remove_except(const struct rfile_dir *d, const char *const *keep);
/* Removes path and everything below it (rm -rf of a folder rift made):
 * a link is removed, never followed, and nothing on another filesystem
 * mounted below it is touched. 0 (also when there is nothing), or -1
 * with errno of the first failure. */
int rfile_rm_rf(const char *path);
/* mkdir -p path, each folder made 0755: 0, or -1 with errno of the first
 * that could not be made. */
int rfile_mkdirs(const char *path);
/* text to path (shrink --out FILE), in its folder as given and through a
 * temp file and a rename, as rfile_put. 0 or -errno. */
int rfile_put_path(const char *path, const char *text, mode_t mode);

#endif
