/* test_capture: the shim's capture and event log, which it writes as root
 * where a policy says: a link or a hard link planted at either name is
 * refused with a message and the file behind it keeps its bytes; a file
 * of the shim's own is emptied and written, 0600. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../shim/capture.h"

static char base[] = "/tmp/rift-test-capture-XXXXXX";
static char victim[300];
static const char victim_text[] = "victim: not the shim's to write\n";

static long size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void victim_intact(void)
{
    char buf[128] = "";
    FILE *f = fopen(victim, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, victim_text);
    assert_int_equal(size_of(victim), (long)strlen(victim_text));
}

static int setup(void **state)
{
    FILE *f;
    (void)state;
    umask(022);
    if (!mkdtemp(base))
        return -1;
    snprintf(victim, sizeof(victim), "%s/victim", base);
    if (!(f = fopen(victim, "w")))
        return -1;
    fputs(victim_text, f);
    return fclose(f);
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

static void refused(const char *pcap, const char *want)
{
    struct capture c;
    char err[700] = "";
    assert_int_equal(capture_open(&c, pcap, err, sizeof(err)), -1);
    if (!strstr(err, want))
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
    victim_intact();
}

static void test_planted_names_are_refused(void **state)
{
    char pcap[400], events[400], want[500];
    (void)state;
    snprintf(pcap, sizeof(pcap), "%s/link.pcap", base);
    assert_int_equal(symlink(victim, pcap), 0);
    snprintf(want, sizeof(want), "cannot write %s: a symbolic link", pcap);
    refused(pcap, want);

    snprintf(pcap, sizeof(pcap), "%s/hard.pcap", base);
    assert_int_equal(link(victim, pcap), 0);
    snprintf(want, sizeof(want), "cannot write %s: not a regular file of its own", pcap);
    refused(pcap, want);

    /* the pcap itself is fine, its event log a link */
    snprintf(pcap, sizeof(pcap), "%s/ev.pcap", base);
    snprintf(events, sizeof(events), "%s/ev.events.jsonl", base);
    assert_int_equal(symlink(victim, events), 0);
    snprintf(want, sizeof(want), "cannot write %s: a symbolic link", events);
    refused(pcap, want);

    if (geteuid() == 0) { /* someone else's file: the shim would write into it */
        FILE *f;
        snprintf(pcap, sizeof(pcap), "%s/theirs.pcap", base);
        assert_non_null(f = fopen(pcap, "w"));
        fclose(f);
        assert_int_equal(chown(pcap, 65534, 65534), 0);
        snprintf(want, sizeof(want), "cannot write %s: not a regular file of its own", pcap);
        refused(pcap, want);
        assert_int_equal(size_of(pcap), 0);
    }
}

static void test_own_files_are_rewritten(void **state)
{
    struct capture c;
    char pcap[400], events[400], err[700];
    unsigned char pkt[40] = {0x45};
    struct stat st;
    FILE *f;
    (void)state;
    snprintf(pcap, sizeof(pcap), "%s/shim.pcap", base);
    snprintf(events, sizeof(events), "%s/shim.events.jsonl", base);
    assert_non_null(f = fopen(events, "w")); /* a last run's: emptied */
    fputs("an old event log, longer than the new one will be\n", f);
    fclose(f);
    assert_int_equal(capture_open(&c, pcap, err, sizeof(err)), 0);
    capture_packet(&c, pkt, sizeof(pkt), sizeof(pkt));
    capture_event(&c, 1500000, "r", "a > b", "pass", NULL);
    capture_close(&c);
    assert_int_equal(stat(pcap, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal((long)st.st_size, 24 + 16 + 40); /* file header, record header, packet */
    assert_int_equal(stat(events, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600); /* it was 0644 */
    {
        char line[300] = "";
        assert_non_null(f = fopen(events, "r"));
        assert_non_null(fgets(line, sizeof(line), f));
        assert_null(fgets(line + 150, 150, f)); /* one line: the old one is gone */
        fclose(f);
        line[strcspn(line, ",")] = '\0';
        assert_string_equal(line, "{\"t\":1.500000"); /* the new event */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planted_names_are_refused),
        cmocka_unit_test(test_own_files_are_rewritten),
    };
    return cmocka_run_group_tests_name("capture", tests, setup, teardown);
}
