"""A test that fails on purpose (run by test_live, which expects exit 1):
the plugin names the run's report folder under the failure and gives the
run's verdict in the summary."""
import pytest

pytestmark = pytest.mark.rift_scenario("../pong-race.ini")


def test_fails_on_purpose(rift_cluster):
    assert rift_cluster.ping()
    assert False, "on purpose"
