/* test_rfile: report folders in real temp folders: a link planted in one
 * is replaced, never written through (the file it points to keeps its
 * bytes); a folder of another uid, one writable by others, a symbolic link
 * and a file are refused with the message the caller sees; a new folder
 * is 0700, its documents 0644 and its copied logs 0600. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../harness/sys/rfile.h"

static char base[] = "/tmp/rift-test-rfile-XXXXXX";
static char outside[300], src[300], victim[320];
static const char victim_text[] = "victim: not rift's to write\n";

static char *slurp(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    size_t n;
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static unsigned mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return (unsigned)(st.st_mode & 07777);
}

static int setup(void **state)
{
    (void)state;
    umask(022); /* the usual one: the modes below are rift's, not a umask's */
    if (!mkdtemp(base))
        return -1;
    snprintf(outside, sizeof(outside), "%s/outside", base);
    snprintf(victim, sizeof(victim), "%s/victim", outside);
    snprintf(src, sizeof(src), "%s/src", base);
    if (mkdir(outside, 0755) < 0 || mkdir(src, 0755) < 0)
        return -1;
    spit(victim, victim_text);
    return 0;
}

static int teardown(void **state)
{
    char *const argv[] = {"rm", "-rf", base, NULL};
    (void)state;
    if (fork() == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    return wait(NULL) < 0;
}

/* How many names dir holds (. and .. aside). */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void test_fresh_folder_and_modes(void **state)
{
    struct rfile_dir d;
    char dir[400], path[500], log[400], err[300];
    (void)state;
    snprintf(dir, sizeof(dir), "%s/new/report/", base);
    assert_int_equal(rfile_dir_open(&d, dir, err, sizeof(err)), 0);
    assert_true(d.fd >= 0);
    snprintf(dir, sizeof(dir), "%s/new/report", base);
    assert_string_equal(d.path, dir); /* the trailing slash dropped */
    assert_int_equal(mode_of(dir), 0700);
    assert_int_equal(rfile_put(&d, "summary.txt", "verdict: pass\n", RFILE_SHARED), 0);
    snprintf(log, sizeof(log), "%s/server.log", src);
    spit(log, "AUTH s3cret\n");
    assert_int_equal(rfile_copy(&d, "m1.log", log, RFILE_PRIVATE), 0);
    snprintf(path, sizeof(path), "%s/summary.txt", dir);
    assert_int_equal(mode_of(path), 0644);
    assert_string_equal(slurp(path), "verdict: pass\n");
    snprintf(path, sizeof(path), "%s/m1.log", dir);
    assert_int_equal(mode_of(path), 0600);
    assert_string_equal(slurp(path), "AUTH s3cret\n");
    /* no temp file left beside them */
    assert_int_equal(count_entries(dir), 2);
    /* opened again (the caller's own folder now): accepted, files replaced */
    rfile_dir_close(&d);
    assert_int_equal(rfile_dir_open(&d, dir, err, sizeof(err)), 0);
    assert_int_equal(rfile_put(&d, "summary.txt", "verdict: fail\n", RFILE_SHARED), 0);
    snprintf(path, sizeof(path), "%s/summary.txt", dir);
    assert_string_equal(slurp(path), "verdict: fail\n");
    /* a copy of nothing, or of a link, writes nothing */
    snprintf(path, sizeof(path), "%s/nothing.log", src);
    assert_int_equal(rfile_copy(&d, "none.log", path, RFILE_PRIVATE), -ENOENT);
    snprintf(path, sizeof(path), "%s/link.log", src);
    assert_int_equal(symlink(victim, path), 0);
    assert_int_equal(rfile_copy(&d, "link.log", path, RFILE_PRIVATE), -ELOOP);
    assert_int_equal(count_entries(dir), 2);
    rfile_dir_close(&d);
}

/* summary.txt -> victim, junit.xml a hard link of it, report.json -> a
 * name outside that does not exist yet: each is replaced by a file of its
 * own; victim keeps its bytes and nothing appears outside. */
static void test_planted_links_are_replaced(void **state)
{
    struct rfile_dir d;
    char dir[400], path[500], err[300], dangling[400];
    FILE *f;
    struct stat st;
    (void)state;
    snprintf(dir, sizeof(dir), "%s/planted", base);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/summary.txt", dir);
    assert_int_equal(symlink(victim, path), 0);
    snprintf(path, sizeof(path), "%s/junit.xml", dir);
    assert_int_equal(link(victim, path), 0);
    snprintf(dangling, sizeof(dangling), "%s/made-by-rift", outside);
    snprintf(path, sizeof(path), "%s/report.json", dir);
    assert_int_equal(symlink(dangling, path), 0);
    /* a temp name planted too: removed, not followed */
    snprintf(path, sizeof(path), "%s/.m1.log.%d.tmp", dir, (int)getpid());
    assert_int_equal(symlink(victim, path), 0);

    assert_int_equal(rfile_dir_open(&d, dir, err, sizeof(err)), 0);
    assert_int_equal(rfile_put(&d, "summary.txt", "rift run x.ini: seed 1\n", RFILE_SHARED), 0);
    assert_non_null(f = rfile_fopen(&d, "junit.xml", RFILE_SHARED));
    fputs("<testsuite/>\n", f);
    assert_int_equal(rfile_fclose(&d, f, "junit.xml"), 0);
    assert_int_equal(rfile_put(&d, "report.json", "{}\n", RFILE_SHARED), 0);
    assert_int_equal(rfile_copy(&d, "m1.log", "/dev/null", RFILE_PRIVATE), -EINVAL);
    snprintf(path, sizeof(path), "%s/copied", src);
    spit(path, "log line\n");
    assert_int_equal(rfile_copy(&d, "m1.log", path, RFILE_PRIVATE), 0);
    rfile_dir_close(&d);

    assert_string_equal(slurp(victim), victim_text);
    assert_int_equal(lstat(victim, &st), 0);
    assert_int_equal((int)st.st_nlink, 1); /* junit.xml is its own file now */
    assert_int_equal(access(dangling, F_OK), -1);
    snprintf(path, sizeof(path), "%s/summary.txt", dir);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_string_equal(slurp(path), "rift run x.ini: seed 1\n");
    snprintf(path, sizeof(path), "%s/junit.xml", dir);
    assert_string_equal(slurp(path), "<testsuite/>\n");
    snprintf(path, sizeof(path), "%s/report.json", dir);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    snprintf(path, sizeof(path), "%s/m1.log", dir);
    assert_string_equal(slurp(path), "log line\n");
    assert_int_equal(count_entries(dir), 4);
}

/* What the caller reads after "rift: --report ": the folder, and why. */
static void refused(const char *given, const char *dir, int rc, const char *why)
{
    struct rfile_dir d;
    char err[300] = "", want[600];
    assert_int_equal(rfile_dir_open(&d, given, err, sizeof(err)), rc);
    assert_int_equal(d.fd, -1);
    snprintf(want, sizeof(want), "%s: %s", dir, why);
    assert_string_equal(err, want);
}

static void test_foreign_folders_are_refused(void **state)
{
    char dir[400], path[500], why[120];
    (void)state;
    /* another uid's: as root chown'd to nobody; as anyone else, root's / */
    if (geteuid() == 0) {
        snprintf(dir, sizeof(dir), "%s/nobodys", base);
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(chown(dir, 65534, 65534), 0);
        snprintf(path, sizeof(path), "%s/summary.txt", dir);
        refused(dir, dir, -EPERM, "owned by uid 65534, not yours (uid 0)");
        assert_int_equal(access(path, F_OK), -1);
    } else {
        snprintf(why, sizeof(why), "owned by uid 0, not yours (uid %u)", (unsigned)getuid());
        refused("/", "/", -EPERM, why);
    }
    snprintf(dir, sizeof(dir), "%s/open", base);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(chmod(dir, 0777), 0);
    refused(dir, dir, -EPERM, "writable by others (mode 0777)");
    assert_int_equal(chmod(dir, 0770), 0);
    refused(dir, dir, -EPERM, "writable by others (mode 0770)");
    assert_int_equal(count_entries(dir), 0);

    snprintf(dir, sizeof(dir), "%s/link", base);
    assert_int_equal(symlink(outside, dir), 0);
    refused(dir, dir, -ELOOP, "a symbolic link, not a folder");
    snprintf(path, sizeof(path), "%s/", dir); /* "link/" must not resolve it either */
    refused(path, dir, -ELOOP, "a symbolic link, not a folder");
    snprintf(dir, sizeof(dir), "%s/file", base);
    spit(dir, "");
    refused(dir, dir, -ENOTDIR, "not a folder");
    assert_int_equal(count_entries(outside), 1); /* victim, nothing new */
}

/* chaos's rounds: a subfolder is made 0700, and a planted link in its
 * place refused. */
static void test_subfolders(void **state)
{
    struct rfile_dir d, sub;
    char dir[400], path[500], err[300];
    (void)state;
    snprintf(dir, sizeof(dir), "%s/chaos", base);
    assert_int_equal(rfile_dir_open(&d, dir, err, sizeof(err)), 0);
    assert_int_equal(rfile_dir_sub(&d, "round-1", &sub, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/round-1", dir);
    assert_string_equal(sub.path, path);
    assert_int_equal(mode_of(path), 0700);
    assert_int_equal(rfile_put(&sub, "scenario.ini", "[cluster]\n", RFILE_SHARED), 0);
    rfile_dir_close(&sub);
    snprintf(path, sizeof(path), "%s/round-2", dir);
    assert_int_equal(symlink(outside, path), 0);
    assert_int_equal(rfile_dir_sub(&d, "round-2", &sub, err, sizeof(err)), -ELOOP);
    snprintf(path, sizeof(path), "%s/round-2: a symbolic link, not a folder", dir);
    assert_string_equal(err, path);
    assert_int_equal(rfile_dir_sub(&d, "../x", &sub, err, sizeof(err)), -EINVAL);
    rfile_dir_close(&d);
    assert_int_equal(count_entries(outside), 1);
}

/* shrink --out FILE: a link at FILE is replaced. */
static void test_put_path(void **state)
{
    char path[500];
    struct stat st;
    (void)state;
    snprintf(path, sizeof(path), "%s/shrunk.ini", base);
    assert_int_equal(symlink(victim, path), 0);
    assert_int_equal(rfile_put_path(path, "[timeline]\n", RFILE_SHARED), 0);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_string_equal(slurp(path), "[timeline]\n");
    assert_string_equal(slurp(victim), victim_text);
    snprintf(path, sizeof(path), "%s/", base);
    assert_int_equal(rfile_put_path(path, "x", RFILE_SHARED), -EISDIR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_folder_and_modes),
        cmocka_unit_test(test_planted_links_are_replaced),
        cmocka_unit_test(test_foreign_folders_are_refused),
        cmocka_unit_test(test_subfolders),
        cmocka_unit_test(test_put_path),
    };
    return cmocka_run_group_tests_name("rfile", tests, setup, teardown);
}
