# rift: make, make test, make bench, make deps, make clean, make install.
# ASAN=1 builds with sanitizers, V=1 shows commands.
SHELL   := /bin/bash
CC      ?= gcc
PREFIX  ?= /usr/local
# Where `rift fetch` keeps fetched servers for a rift installed in PREFIX
# (harness/sys/home.h); a source tree keeps them in build/.
CACHE_DIR ?= /var/cache/rift
BUILD   := build
CFLAGS  := -DDATA_DIR='"$(CURDIR)/tests/unit/data"' -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wformat=2 -Wstrict-prototypes \
           -Wno-format-truncation -Werror -MMD -MP -I/usr/include/hiredis $(EXTRA_CFLAGS)
LDFLAGS := $(EXTRA_LDFLAGS)
ifeq ($(ASAN),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
BUILD   := build-asan
endif
ifneq ($(V),1)
Q := @
endif

SHIM_LIBS := -lnetfilter_queue -lmnl -lpcap -linih -lm
# What the programs and the default scenario need (make run), and what
# the tests, fuzzers, lint and the report's browser test need besides.
RUN_PKGS  := build-essential pkg-config libnetfilter-queue-dev libmnl-dev libpcap-dev \
             libinih-dev libhiredis-dev iptables iproute2 redis-server
DEB_PKGS  := $(RUN_PKGS) libcmocka-dev \
             redis-tools python3-redis tcpdump clang libclang-rt-14-dev clang-format clang-tidy \
             cppcheck python3-pytest libxml2-dev chromium openssh-server openssh-client pandoc \
             bash-completion podman runc containernetworking-plugins podman-compose mmdebstrap

PROTO_SRC  := proto/bus.c proto/pkt.c proto/ctl.c proto/pstat.c proto/tabline.c
POLICY_SRC := policies/policy.c policies/ini.c policies/write.c policies/keys.c policies/value.c policies/esc.c policies/model.c
SHIM_SRC   := shim/shim.c shim/agent.c shim/daemon.c shim/path.c shim/rules.c shim/ctlsrv.c shim/loop.c shim/watch.c shim/queue.c shim/hold.c shim/match.c shim/ipt.c shim/msgflow.c \
              shim/capture.c $(POLICY_SRC) $(PROTO_SRC)

RIFT_SRC   := harness/cli/rift.c harness/cli/fetch.c harness/cli/up.c harness/run/live.c harness/run/runaudit.c harness/run/run.c harness/cluster/runstate.c harness/sys/rfile.c harness/sys/clock.c harness/cluster/netns.c harness/cluster/nodes.c \
              harness/cluster/observe.c harness/cluster/cluster.c harness/run/steps.c harness/checks/checks.c harness/report/report.c \
              harness/sys/proc.c harness/sys/registry.c harness/sys/cgbind.c harness/observe/view.c harness/scenario/scenario.c harness/scenario/appscn.c harness/scenario/attachscn.c \
              harness/scenario/flavour.c harness/sys/home.c \
              harness/scenario/timeline.c harness/scenario/scnnode.c \
              harness/cluster/cclient.c harness/cluster/workload.c harness/cluster/migrate.c harness/cluster/probes.c harness/cli/matrix.c \
              harness/observe/decode.c harness/cluster/need.c harness/explore/sched.c harness/explore/chaosgen.c harness/explore/shrink.c \
              harness/explore/chaos.c harness/explore/replay.c harness/observe/audit.c harness/observe/tcpflow.c harness/cluster/cmdtab.c harness/observe/sniff.c \
              harness/cluster/app.c harness/observe/tseries.c harness/observe/vtrack.c harness/observe/viewlog.c harness/report/html.c harness/report/htmlsvg.c harness/report/busctx.c harness/scenario/hosts.c harness/hosts/remote.c harness/hosts/hostrun.c harness/hosts/hostbus.c harness/hosts/hostclean.c harness/attach/attach.c harness/attach/attshim.c harness/cluster/shimset.c harness/sys/sockown.c \
              proto/resp.c proto/keyspec.c $(POLICY_SRC) $(PROTO_SRC)
RIFT_LIBS  := -lhiredis -linih -lpcap -lm -pthread

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
# The install prefix and the cache are compiled into the resource search
# path: home.o is rebuilt when either changes.
$(BUILD)/harness/sys/home.o: CFLAGS += -DRIFT_PREFIX='"$(PREFIX)"' -DRIFT_CACHE_DIR='"$(CACHE_DIR)"'
$(BUILD)/harness/sys/home.o: $(BUILD)/home-paths
$(BUILD)/home-paths: FORCE
	@mkdir -p $(@D)
	@echo '$(PREFIX) $(CACHE_DIR)' | cmp -s - $@ || echo '$(PREFIX) $(CACHE_DIR)' > $@

UNIT_TESTS := test_policy test_model test_hold test_match test_ctl test_decide test_view test_scenario test_ledger test_bus \
              test_queue test_esc test_probes test_path test_runstate test_chaos test_resp test_keyspec test_audit \
              test_html test_hosts test_viewlog test_rfile test_capture test_tcpflow test_cclient
test_policy_SRC := tests/unit/test_policy.c policies/policy.c policies/ini.c policies/write.c policies/keys.c policies/value.c policies/esc.c proto/bus.c proto/pkt.c
test_model_SRC  := tests/unit/test_model.c $(POLICY_SRC) proto/bus.c proto/pkt.c
test_hold_SRC   := tests/unit/test_hold.c shim/hold.c
test_match_SRC  := tests/unit/test_match.c shim/match.c policies/policy.c policies/ini.c policies/write.c policies/keys.c policies/value.c policies/esc.c proto/pkt.c proto/bus.c
test_ctl_SRC    := tests/unit/test_ctl.c proto/ctl.c
test_decide_SRC := tests/unit/test_decide.c shim/hold.c $(POLICY_SRC) proto/bus.c proto/pkt.c
test_view_SRC   := tests/unit/test_view.c harness/observe/view.c
test_ledger_SRC := tests/unit/test_ledger.c harness/cluster/workload.c harness/observe/tseries.c harness/cluster/cclient.c policies/value.c harness/sys/clock.c proto/keyspec.c proto/resp.c
test_bus_SRC    := tests/unit/test_bus.c proto/bus.c
test_queue_SRC  := tests/unit/test_queue.c shim/queue.c
test_esc_SRC    := tests/unit/test_esc.c policies/esc.c
test_probes_SRC := tests/unit/test_probes.c harness/cluster/probes.c harness/sys/home.c harness/observe/tseries.c harness/sys/proc.c proto/pstat.c harness/sys/registry.c harness/sys/rfile.c harness/sys/cgbind.c policies/esc.c
test_runstate_SRC := tests/unit/test_runstate.c harness/cluster/runstate.c harness/sys/clock.c proto/pkt.c
test_path_SRC   := tests/unit/test_path.c shim/path.c shim/daemon.c shim/hold.c shim/match.c \
                   shim/msgflow.c shim/capture.c $(POLICY_SRC) $(PROTO_SRC)
test_resp_SRC   := tests/unit/test_resp.c proto/resp.c
test_rfile_SRC  := tests/unit/test_rfile.c harness/sys/rfile.c
test_capture_SRC := tests/unit/test_capture.c shim/capture.c
test_keyspec_SRC := tests/unit/test_keyspec.c proto/keyspec.c proto/resp.c
test_tcpflow_SRC := tests/unit/test_tcpflow.c harness/observe/tcpflow.c
test_cclient_SRC := tests/unit/test_cclient.c harness/cluster/cclient.c policies/value.c proto/keyspec.c proto/resp.c
test_audit_SRC  := tests/unit/test_audit.c harness/observe/audit.c harness/observe/tcpflow.c proto/keyspec.c proto/resp.c policies/esc.c
test_chaos_SRC  := tests/unit/test_chaos.c harness/explore/chaosgen.c harness/explore/sched.c harness/explore/shrink.c \
                   harness/sys/clock.c harness/scenario/scenario.c harness/scenario/appscn.c harness/scenario/attachscn.c harness/scenario/flavour.c harness/sys/home.c harness/scenario/timeline.c harness/scenario/scnnode.c $(POLICY_SRC) proto/bus.c proto/pkt.c
test_html_SRC   := tests/unit/test_html.c harness/report/html.c harness/report/htmlsvg.c harness/observe/vtrack.c harness/observe/viewlog.c harness/observe/view.c \
                   harness/cluster/runstate.c harness/sys/clock.c \
                   harness/observe/tseries.c harness/report/busctx.c harness/scenario/scenario.c harness/scenario/appscn.c harness/scenario/attachscn.c harness/scenario/flavour.c harness/sys/home.c \
                   harness/scenario/timeline.c harness/scenario/scnnode.c $(POLICY_SRC) proto/bus.c proto/pkt.c
test_html_LIBS  := -lxml2
test_viewlog_SRC := tests/unit/test_viewlog.c harness/observe/viewlog.c harness/observe/vtrack.c harness/observe/view.c policies/esc.c
test_hosts_SRC  := tests/unit/test_hosts.c harness/scenario/hosts.c harness/scenario/scenario.c harness/scenario/appscn.c harness/scenario/attachscn.c harness/scenario/flavour.c harness/sys/home.c \
                   harness/scenario/timeline.c harness/scenario/scnnode.c $(POLICY_SRC) proto/bus.c proto/pkt.c proto/tabline.c harness/hosts/remote.c \
                   harness/sys/proc.c harness/sys/registry.c harness/sys/rfile.c harness/sys/cgbind.c proto/pstat.c
$(BUILD)/tests/unit/test_html.o: CFLAGS += -I/usr/include/libxml2
test_scenario_SRC := tests/unit/test_scenario.c harness/scenario/scenario.c harness/scenario/appscn.c harness/scenario/attachscn.c harness/scenario/flavour.c harness/sys/home.c harness/scenario/timeline.c harness/scenario/scnnode.c policies/policy.c policies/ini.c policies/write.c policies/keys.c policies/value.c policies/esc.c proto/bus.c proto/pkt.c

BENCH_BIN := $(BUILD)/bench/baseline-accept $(BUILD)/bench/udp-probe $(BUILD)/bench/decode

.PHONY: layers docs man run-deps install-shim install-rift deb deb-test hosts-demo docs-screenshot all bins servers valkey-1912 format-check lint test unit integration bench deps clean install format demo run chaos clients fuzz
# Everything the shipped scenarios need: the programs, the client probes'
# libraries and the trixie servers.
all: bins clients servers
bins: bin/rift-shim bin/rift bin/rift-probe

# bin/ holds one build flavour at a time: switching ASAN on or off relinks.
FLAVOUR := bin/.built-$(if $(filter 1,$(ASAN)),asan,plain)
$(FLAVOUR):
	@mkdir -p bin
	@rm -f bin/.built-*
	@touch $@

bin/rift-probe: $(call obj,harness/clients/rift_probe.c harness/cluster/cclient.c policies/value.c proto/keyspec.c proto/resp.c) $(FLAVOUR)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) -lhiredis -lm

bin/rift: $(call obj,$(RIFT_SRC)) $(FLAVOUR)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(RIFT_LIBS)

bin/rift-shim: $(call obj,$(SHIM_SRC)) $(FLAVOUR)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(SHIM_LIBS)

# The version and the commit rift is built from (rift --version): a header
# rewritten only when they change, so that a new commit recompiles rift.c
# alone. Without git (a source tarball) the commit is "unknown".
RIFT_VERSION := 0.1.0
$(BUILD)/version.h: FORCE
	@mkdir -p $(@D)
	@c=$$(git -C $(CURDIR) describe --always --dirty --abbrev=12 2>/dev/null || echo unknown); \
	t=$$(printf '#define RIFT_VERSION "%s"\n#define RIFT_COMMIT "%s"' '$(RIFT_VERSION)' "$$c"); \
	[ "$$(cat $@ 2>/dev/null)" = "$$t" ] || echo "$$t" > $@
FORCE:
.PHONY: FORCE
$(BUILD)/harness/cli/rift.o: $(BUILD)/version.h
$(BUILD)/harness/cli/rift.o: CFLAGS += -I$(BUILD)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# A test's mocks: every __wrap_NAME it defines becomes -Wl,--wrap=NAME.
wraps = $(shell grep -o '__wrap_[A-Za-z0-9_]*' tests/unit/$(1).c | sort -u | sed 's/__wrap_/-Wl,--wrap=/')
define unit_rule
$(BUILD)/tests/$(1): $(call obj,$($(1)_SRC))
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(LDFLAGS) $(call wraps,$(1)) -o $$@ $$^ $($(1)_LIBS) -lcmocka -linih -lhiredis -lnetfilter_queue -lmnl -lpcap -lm -pthread
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

$(BUILD)/bench/baseline-accept: $(call obj,tests/bench/baseline-accept.c)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lnetfilter_queue -lmnl
$(BUILD)/bench/decode: $(call obj,tests/bench/decode.c proto/resp.c proto/bus.c harness/observe/tcpflow.c)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^
$(BUILD)/bench/udp-probe: $(call obj,tests/bench/udp-probe.c policies/value.c)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -pthread -o $@ $^ -lm

# Debian packages: installed only when one is missing.
# Install the Debian packages of $(1) that are missing.
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	    | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "make $@: installing$$(echo $$missing | sed 's/^/ /')"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	        --no-install-recommends $$missing >/dev/null || exit 1; \
	fi
endef
deps:
	$(call apt_install,$(DEB_PKGS))
run-deps:
	$(call apt_install,$(RUN_PKGS))

# Client probes: the Node libraries pinned by package-lock.json, and
# redis-py 6.1.0 from Debian trixie unpacked into build/trixie.
# The applications under harness/apps/ (BullMQ) come the same way.
CLIENT_DEPS := harness/clients/node_modules/.package-lock.json build/trixie/.stamp \
               harness/apps/bullmq/node_modules/.package-lock.json
harness/clients/node_modules/.package-lock.json: harness/clients/package-lock.json
	cd harness/clients && npm ci --no-audit --no-fund --loglevel=error
harness/apps/bullmq/node_modules/.package-lock.json: harness/apps/bullmq/package-lock.json
	cd harness/apps/bullmq && npm ci --no-audit --no-fund --loglevel=error
# Server flavours NAME@SUITE (harness/scenario/flavour.h): redis-server and
# valkey-server of a Debian suite with everything they depend on, the
# suite's own C library included, unpacked into build/SUITE and run through
# that suite's loader; trixie and sid also give redis-py (python3-redis,
# the package alone). `make server-SUITE` fetches any suite, with `rift
# fetch` (harness/cli/fetch.h), which knows what each suite gives.
SERVER_SUITES := trixie sid bookworm-backports
TREE_FETCH := env -u RIFT_HOME -u RIFT_CACHE bin/rift fetch --force
build/%/.stamp: harness/clients/fetch-suite.sh | bin/rift
	$(TREE_FETCH) redis@$*
server-%: build/%/.stamp
	@:
.PRECIOUS: build/%/.stamp
# valkey-1912: Valkey 8.1.1 rebuilt with the fix of valkey#1912 reverted.
build/valkey-1912/valkey-server: harness/clients/build-valkey-1912.sh harness/clients/valkey-1912.patch \
                                 harness/clients/fetch-suite.sh | bin/rift
	$(TREE_FETCH) valkey-1912
valkey-1912: build/valkey-1912/valkey-server
clients: $(CLIENT_DEPS)
servers: $(addprefix server-,$(SERVER_SUITES)) valkey-1912

unit: $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))
	@for t in $^; do echo "== $$t"; $$t || exit 1; done

integration: bin/rift-shim bin/rift bin/rift-probe $(BENCH_BIN) $(CLIENT_DEPS)
	$(Q)/usr/bin/python3 tests/integration/run.py

# Calls go down the folders of tests/layers.py's LAYERS and never round
# in a circle: read from the includes and the objects' symbols.
layers: bins
	$(Q)/usr/bin/python3 tests/layers.py $(BUILD)

# README.md and docs/ against the tree: links resolve, and the format pages
# name every section and key the loaders take, and nothing they refuse.
# tests/checkers.py plants what each of the two must find.
docs: bins man
	$(Q)/usr/bin/python3 tests/docs.py
	$(Q)/usr/bin/python3 tests/checkers.py

test: deps
	$(Q)$(MAKE) --no-print-directory format-check lint
	$(Q)$(MAKE) --no-print-directory all layers docs unit fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)
	$(Q)$(MAKE) --no-print-directory integration
	$(Q)if [ "$(RIFT_DEB_TEST)" = 1 ]; then $(MAKE) --no-print-directory deb-test; fi

# The packages end to end (tests/deb.py): make deb, lintian, apt-get install
# into this machine, the default scenario, rift fetch, every probe from /,
# then apt-get purge leaves nothing. About 4 minutes, which would take make
# test past 20: in make test with RIFT_DEB_TEST=1.
deb-test:
	$(Q)/usr/bin/python3 tests/deb.py $(CURDIR)

# The pong race over three hosts reached by SSH only: network namespaces
# with their own addresses and openssh-server, behind a bridge.
hosts-demo: deps
	$(Q)$(MAKE) --no-print-directory bins
	$(Q)/usr/bin/python3 tests/integration/hostsdemo.py harness/scenarios/failover-pong-race.ini \
	    out/hosts-demo

# The screenshot in README.md: the report page test's own screenshot.
docs-screenshot: bin/rift-shim bin/rift
	$(Q)RIFT_SCREENSHOT=docs/report-pong-race.png /usr/bin/python3 tests/integration/run.py \
	    test_report.test_pong_race_report_page_in_chromium

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_BIN)
	$(Q)/usr/bin/python3 tests/bench/bench.py

# The main job on the default scenario: a real cluster, a real fault, a verdict.
# It needs the programs and Debian's redis-server only: no suite is fetched.
run: run-deps
	$(Q)$(MAKE) --no-print-directory bins
	$(Q)bin/rift run harness/scenarios/failover-pong-race.ini --report out/failover-pong-race

# rift chaos on Redis 7.0.15 for CHAOS_TIME with a fixed seed: rounds drawn
# from harness/chaos/pong-race.ini, findings shrunk, the report in out/chaos.
CHAOS_SPEC ?= harness/chaos/pong-race.ini
CHAOS_SEED ?= 1
CHAOS_TIME ?= 10m
chaos: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)rm -rf out/chaos
	$(Q)bin/rift chaos $(CHAOS_SPEC) --seed $(CHAOS_SEED) --time $(CHAOS_TIME) --report out/chaos

# libFuzzer with ASan/UBSan, one harness per parser: the bus framer and
# decoder, the policy loader, the scenario loader (and the shim policy it
# generates), the control requests. Each runs FUZZ_SECONDS (600 for a long
# run; `make test` runs 30 s each) on a working corpus in
# $(BUILD)/fuzz/corpus-NAME, seeded from the captured bus messages and
# tests/fuzz/corpus/NAME/; a crashing input goes to $(BUILD)/fuzz/artifacts-NAME/.
# A crash, a sanitizer report, a leak or a timeout fails the make.
FUZZ_SECONDS ?= 30
# per harness in `make test`: seven of them share its time budget
TEST_FUZZ_SECONDS ?= 5
# A budget per input: a 64 KiB input takes milliseconds in decoders whose
# work is linear, so one that takes seconds is a finding (a timeout artifact).
FUZZ_INPUT_SECONDS ?= 2
FUZZ_CC      := clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE
FUZZERS      := bus policy scenario ctl chaos resp audit
fuzz_bus_SRC      := proto/bus.c proto/pkt.c shim/msgflow.c
fuzz_bus_SEEDS    := tests/unit/data/bus-*.bin
fuzz_bus_MAXLEN   := 65536
fuzz_policy_SRC   := policies/policy.c policies/ini.c policies/write.c policies/keys.c policies/value.c policies/esc.c proto/bus.c proto/pkt.c
fuzz_policy_LIBS  := -linih -lm
fuzz_scenario_SRC := harness/scenario/scenario.c harness/scenario/appscn.c harness/scenario/attachscn.c harness/scenario/flavour.c harness/sys/home.c harness/scenario/timeline.c harness/scenario/scnnode.c policies/policy.c policies/ini.c policies/write.c policies/keys.c policies/value.c policies/esc.c proto/bus.c proto/pkt.c
fuzz_scenario_LIBS := -linih -lm
fuzz_resp_SRC     := proto/resp.c
fuzz_resp_MAXLEN  := 65536
fuzz_audit_SRC    := harness/observe/audit.c harness/observe/tcpflow.c proto/keyspec.c proto/resp.c policies/esc.c
fuzz_audit_LIBS   := -lpcap
fuzz_audit_MAXLEN := 65536
fuzz_chaos_SRC    := harness/explore/chaosgen.c harness/explore/sched.c harness/scenario/scenario.c harness/scenario/appscn.c harness/scenario/attachscn.c harness/scenario/flavour.c harness/sys/home.c harness/scenario/timeline.c harness/scenario/scnnode.c \
                     $(POLICY_SRC) proto/bus.c proto/pkt.c
fuzz_chaos_LIBS   := -linih -lm
fuzz_ctl_SRC      := proto/ctl.c policies/policy.c policies/ini.c policies/write.c policies/keys.c policies/value.c policies/esc.c proto/bus.c proto/pkt.c
fuzz_ctl_LIBS     := -linih -lm
fuzz_ctl_MAXLEN   := 2048

define fuzz_rule
$(BUILD)/fuzz/fuzz_$(1): tests/fuzz/fuzz_$(1).c $(fuzz_$(1)_SRC) $(wildcard $(fuzz_$(1)_SRC:.c=.h))
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  FUZZCC  $$@")
	$$(Q)$$(FUZZ_CC) -o $$@ tests/fuzz/fuzz_$(1).c $(fuzz_$(1)_SRC) $(fuzz_$(1)_LIBS)
endef
$(foreach f,$(FUZZERS),$(eval $(call fuzz_rule,$(f))))

# One harness: seed its corpus, run, print the final figures.
define fuzz_run
	@echo "== fuzz_$(1)"
	@mkdir -p $(BUILD)/fuzz/corpus-$(1) $(BUILD)/fuzz/artifacts-$(1)
	@cp $(or $(fuzz_$(1)_SEEDS),tests/fuzz/corpus/$(1)/*) $(BUILD)/fuzz/corpus-$(1)/
	$(Q)$(BUILD)/fuzz/fuzz_$(1) -max_total_time=$(FUZZ_SECONDS) -max_len=$(or $(fuzz_$(1)_MAXLEN),16384) \
	    -timeout=$(FUZZ_INPUT_SECONDS) -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/artifacts-$(1)/ \
	    $(if $(wildcard tests/fuzz/$(1).dict),-dict=tests/fuzz/$(1).dict) $(BUILD)/fuzz/corpus-$(1) 2>&1 \
	    | grep -E "^(stat::number_of_executed_units|stat::peak_rss|#[0-9]+.*DONE|==|SUMMARY|Done|fuzz_|artifact_prefix|Test unit)" ; \
	    test $${PIPESTATUS[0]} -eq 0

endef
fuzz: $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZERS))
	$(foreach f,$(FUZZERS),$(call fuzz_run,$(f)))
fuzz-%: $(BUILD)/fuzz/fuzz_%
	$(call fuzz_run,$*)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)/usr/bin/python3 tests/demo/partition-demo.py

# What a host of `rift run --hosts` needs: rift-shim alone.
# Man pages made from the docs pages with pandoc, so that the two never
# disagree: rift(1) from the commands' pages, rift-shim(8), and the file
# formats in section 5.
MAN_rift.1          := docs/run.md docs/live.md docs/reports.md docs/flavours.md docs/fetch.md docs/hosts.md docs/app.md \
                       docs/install.md
MAN_rift-shim.8     := docs/shim.md
MAN_rift-scenario.5 := docs/scenario.md
MAN_rift-policy.5   := docs/policy.md
MAN_rift-chaos.5    := docs/chaos.md
NAME_rift.1          := drive a Redis or Valkey cluster through network faults and check what it did
NAME_rift-shim.8     := delay, drop, reorder, duplicate, hold and rate-limit packets between cluster nodes
NAME_rift-scenario.5 := the scenario file format of rift run
NAME_rift-policy.5   := the policy file format of rift-shim
NAME_rift-chaos.5    := the chaos SPEC format of rift chaos, and rift shrink
MAN_PAGES := $(addprefix $(BUILD)/man/,rift.1 rift-shim.8 rift-scenario.5 rift-policy.5 rift-chaos.5)
man: $(MAN_PAGES)
define man_rule
$(BUILD)/man/$(1): $(MAN_$(1))
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  MAN     $$@")
	$$(Q)(printf '# NAME\n\n$(basename $(1)) - %s\n\n' '$(NAME_$(1))'; cat $$^) | \
	    pandoc -s -f gfm -t man -M title="$(shell echo $(basename $(1)) | tr a-z A-Z)" \
	    -M section="$(patsubst .%,%,$(suffix $(1)))" -M header=rift \
	    -M footer="rift $$(RIFT_VERSION)" -o $$@
endef
$(foreach m,rift.1 rift-shim.8 rift-scenario.5 rift-policy.5 rift-chaos.5,$(eval $(call man_rule,$(m))))

# make install: the layout of harness/sys/home.h under PREFIX (the Debian
# packages are these two: make deb). The npm modules go along when they
# are in the tree (make clients).
SHARE_DIR    = $(DESTDIR)$(PREFIX)/share
LIB_DIR      = $(DESTDIR)$(PREFIX)/lib/rift
CLIENT_FILES := node_probe.js redis_py_probe.py valkey-1912.patch package.json package-lock.json
CLIENT_PROGS := fetch-suite.sh build-valkey-1912.sh
APP_FILES    := app.js package.json package-lock.json cluster-failover.ini standalone.ini
install-shim: bin/rift-shim $(BUILD)/man/rift-shim.8 $(BUILD)/man/rift-policy.5
	install -D -m 0755 bin/rift-shim $(DESTDIR)$(PREFIX)/bin/rift-shim
	install -D -m 0644 $(BUILD)/man/rift-shim.8 $(SHARE_DIR)/man/man8/rift-shim.8
	install -D -m 0644 $(BUILD)/man/rift-policy.5 $(SHARE_DIR)/man/man5/rift-policy.5
	install -D -m 0644 shim/rift-shim.bash $(SHARE_DIR)/bash-completion/completions/rift-shim
install-rift: bin/rift bin/rift-probe $(BUILD)/man/rift.1 $(BUILD)/man/rift-scenario.5 \
              $(BUILD)/man/rift-chaos.5
	install -D -m 0755 bin/rift $(DESTDIR)$(PREFIX)/bin/rift
	install -D -m 0755 bin/rift-probe $(LIB_DIR)/rift-probe
	install -d $(LIB_DIR)/clients $(LIB_DIR)/apps/bullmq $(SHARE_DIR)/rift/scenarios \
	    $(SHARE_DIR)/rift/chaos $(SHARE_DIR)/rift/policies
	install -m 0644 $(addprefix harness/clients/,$(CLIENT_FILES)) $(LIB_DIR)/clients
	install -m 0755 $(addprefix harness/clients/,$(CLIENT_PROGS)) $(LIB_DIR)/clients
	install -m 0644 $(addprefix harness/apps/bullmq/,$(APP_FILES)) $(LIB_DIR)/apps/bullmq
	$(Q)for d in clients apps/bullmq; do \
	    if [ -d harness/$$d/node_modules ]; then \
	        cp -R --no-preserve=ownership harness/$$d/node_modules $(LIB_DIR)/$$d/; \
	    else echo "make install: no npm modules in harness/$$d (make clients): the Node probes and apps will not run"; fi; done
	install -m 0644 harness/scenarios/*.ini $(SHARE_DIR)/rift/scenarios
	install -m 0644 harness/chaos/*.ini $(SHARE_DIR)/rift/chaos
	install -m 0644 policies/examples/*.ini $(SHARE_DIR)/rift/policies
	install -D -m 0644 $(BUILD)/man/rift.1 $(SHARE_DIR)/man/man1/rift.1
	install -D -m 0644 $(BUILD)/man/rift-scenario.5 $(SHARE_DIR)/man/man5/rift-scenario.5
	install -D -m 0644 $(BUILD)/man/rift-chaos.5 $(SHARE_DIR)/man/man5/rift-chaos.5
	install -D -m 0644 harness/cli/rift.bash $(SHARE_DIR)/bash-completion/completions/rift
install: install-shim install-rift

# The Debian packages rift and rift-shim (debian/) of the commit checked
# out, built in a clone under build/deb: what is not committed is not in
# them. The .debs and lintian's report land in build/deb.
DEB_BUILD_PKGS := debhelper dpkg-dev fakeroot lintian pandoc git $(RUN_PKGS)
deb:
	$(call apt_install,$(DEB_BUILD_PKGS))
	@command -v npm >/dev/null || { echo "make deb: npm (Node.js) is missing"; exit 1; }
	@git diff --quiet HEAD || echo "make deb: uncommitted changes are not in the packages"
	rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb
	git clone -q --no-hardlinks . $(BUILD)/deb/rift-$(RIFT_VERSION)
	cd $(BUILD)/deb/rift-$(RIFT_VERSION) && DEB_BUILD_OPTIONS=noautodbgsym \
	    dpkg-buildpackage -us -uc -b -j2 >../build.log 2>&1 || \
	    { tail -30 $(BUILD)/deb/build.log; exit 1; }
	rm -rf $(BUILD)/deb/rift-$(RIFT_VERSION)
	lintian --no-tag-display-limit $(BUILD)/deb/*.changes > $(BUILD)/deb/lintian.txt 2>&1 || true
	@ls -l $(BUILD)/deb/*.deb
	@echo "lintian: $$(grep -c '^E:' $(BUILD)/deb/lintian.txt) errors, $$(grep -c '^W:' $(BUILD)/deb/lintian.txt) warnings ($(BUILD)/deb/lintian.txt)"

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# cppcheck and clang-tidy on everything but the tests: no finding is
# allowed (a false positive is suppressed inline, with the reason).
LINT_SRC := $(shell git ls-files '*.c' 2>/dev/null | grep -v '^tests/')
TIDY_CHECKS := -*,bugprone-*,cert-*,-cert-err33-c,-bugprone-easily-swappable-parameters
lint: $(BUILD)/version.h
	@out=$$(cppcheck --enable=warning,style,performance,portability --std=c11 -D_GNU_SOURCE \
	    -I/usr/include/hiredis -I$(BUILD) --suppress=missingIncludeSystem --suppress='*:/usr/include/*' \
	    --inline-suppr --quiet $(LINT_SRC) 2>&1); \
	if [ -n "$$out" ]; then echo "$$out"; echo "lint: cppcheck found the above"; exit 1; fi; \
	echo "lint: cppcheck: 0 findings in $(words $(LINT_SRC)) files"
	@out=$$(clang-tidy -quiet --checks='$(TIDY_CHECKS)' $(LINT_SRC) -- -std=c11 -D_GNU_SOURCE \
	    -I/usr/include/hiredis -I$(BUILD) 2>/dev/null | grep -A3 'warning:'); \
	if [ -n "$$out" ]; then echo "$$out"; echo "lint: clang-tidy found the above"; exit 1; fi; \
	echo "lint: clang-tidy: 0 findings in $(words $(LINT_SRC)) files"
	@out=$$(for f in $(LINT_SRC); do awk -v f=$$f '/^\{/ { s = NR } \
	    /^\}/ { if (s && NR - s - 1 > 120) print f ":" s ": a function of " NR - s - 1 " lines (at most 120)"; s = 0 } \
	    END { if (NR > 700) print f ": " NR " lines (at most 700 in a file)" }' $$f; done); \
	if [ -n "$$out" ]; then echo "$$out"; echo "lint: sizes over the house rules"; exit 1; fi; \
	echo "lint: sizes: no function over 120 lines, no file over 700"

# Every C file as .clang-format has it; lists the files that differ.
format-check:
	@bad=$$(for f in $$(git ls-files '*.c' '*.h'); do \
	    clang-format --style=file "$$f" | cmp -s - "$$f" || echo "$$f"; done); \
	if [ -n "$$bad" ]; then echo "format-check: not formatted (run make format):"; \
	    echo "$$bad" | sed 's/^/  /'; exit 1; fi; \
	echo "format-check: $$(git ls-files '*.c' '*.h' | wc -l) files formatted"


clean:
	rm -rf build build-asan bin out

-include $(shell find $(BUILD) -path '$(BUILD)/*/root' -prune -o -path '$(BUILD)/deb' -prune -o -path '$(BUILD)/containers' -prune -o -name '*.d' -type f -print 2>/dev/null)
