"""pytest plugin: a rift cluster as a fixture.

    # conftest.py
    pytest_plugins = ["rift.pytest_plugin"]

    # test_service.py
    import pytest
    pytestmark = pytest.mark.rift_scenario("scenarios/hold-failover.ini")

    def test_counter(rift_cluster):
        ...

`rift_cluster` is one cluster per module (`rift_session_cluster`: one per
session), from the module's `rift_scenario` marker or the `rift_scenario`
ini option; `rift_server`, `rift_grace` and `rift_binary` are ini options
too. The test thread is in the run's network namespace while the fixture
lives, so the test's own clients reach the nodes. At the end of its scope
the run goes down; its verdict and report are in the pytest summary, and a
failed test names the report folder."""
import os

import pytest

import rift

_runs = []      # (scope name, Result) for the summary
_active = []    # clusters up, innermost last


def pytest_addoption(parser):
    parser.addini("rift_scenario", "scenario file for the rift_cluster fixtures")
    parser.addini("rift_server", "server flavour (rift run --server)")
    parser.addini("rift_grace", "how long a run stays up with no client", default="30s")
    parser.addini("rift_binary", "the rift program", default="rift")


def pytest_configure(config):
    config.addinivalue_line("markers", "rift_scenario(path): the scenario of rift_cluster")


def _start(request, scope_name, tmp_path_factory):
    marker = request.node.get_closest_marker("rift_scenario")
    scenario = marker.args[0] if marker else request.config.getini("rift_scenario")
    if not scenario:
        raise pytest.UsageError("rift_cluster: no scenario (mark rift_scenario(path) or set the "
                                "rift_scenario ini option)")
    if not os.path.isabs(scenario):
        base = os.path.dirname(str(request.node.fspath)) if marker else str(request.config.rootpath)
        scenario = os.path.join(base, scenario)
    report = str(tmp_path_factory.mktemp("rift-" + scope_name.replace("/", "-")))
    os.chmod(report, 0o700)
    cluster = rift.up(scenario, report=report,
                      server=request.config.getini("rift_server") or None,
                      grace=request.config.getini("rift_grace"),
                      rift=request.config.getini("rift_binary"))
    cluster.enter()
    _active.append(cluster)
    return cluster


def _stop(cluster, scope_name):
    _active.remove(cluster)
    result = cluster.down()
    _runs.append((scope_name, cluster, result))


@pytest.fixture(scope="module")
def rift_cluster(request, tmp_path_factory):
    cluster = _start(request, request.module.__name__, tmp_path_factory)
    yield cluster
    _stop(cluster, request.module.__name__)


@pytest.fixture(scope="session")
def rift_session_cluster(request, tmp_path_factory):
    cluster = _start(request, "session", tmp_path_factory)
    yield cluster
    _stop(cluster, "session")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and _active:
        c = _active[-1]
        rep.sections.append(("rift", "run %s (seed %d): report in %s" % (c.id, c.seed, c.report)))


def pytest_terminal_summary(terminalreporter):
    if not _runs:
        return
    terminalreporter.section("rift")
    for scope, cluster, result in _runs:
        terminalreporter.write_line("%s: run %s: %s (exit %d), report %s" % (
            scope, cluster.id, result.verdict or "error", result.status, result.report))
        for c in result.checks:
            if c.status == "fail":
                terminalreporter.write_line("  %s: fail: %s" % (c.name, c.detail))
