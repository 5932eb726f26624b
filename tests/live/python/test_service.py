"""The service through a failover that rift asks for while it holds one
node pair's bus messages: its own data survives, and rift saw no cycle,
no lost slot and (read back at the end) no lost acknowledged write."""
import time

import pytest

from service import Service

pytestmark = pytest.mark.rift_scenario("../hold-failover.ini")


def test_counter_and_profile_survive_a_failover_under_a_hold(rift_cluster):
    host, port = rift_cluster.seeds[0].split(":")
    svc = Service(host, int(port), rift_cluster.password)
    for _ in range(200):
        svc.hit("home")
    svc.save_profile("42", "Ada", "ada@example.org")
    assert rift_cluster.mark("service: 200 hits written")
    assert rift_cluster.fault("hold-m3", True)
    assert rift_cluster.failover("m1r1")
    time.sleep(1.5)
    assert rift_cluster.fault("hold-m3", False)
    reply = rift_cluster.wait_converged("20s")
    assert reply, reply.text
    for _ in range(100):
        svc.hit("home")
    assert svc.hits("home") == 300
    assert svc.profile("42") == ["Ada", "ada@example.org"]
    views = rift_cluster.views()
    roles = {n["addr"]: n["role"] for n in views["m1"]["nodes"]}
    m1r1 = next(n["addr"] for n in rift_cluster.nodes if n["name"] == "m1r1")
    assert roles[m1r1] == "primary", roles
    checks = {c.name: c for c in rift_cluster.checks()}
    assert checks["cycles"].status == "pass" and not checks["cycles"].observations
    assert checks["lost_slots"].status == "pass"
    assert checks["lost_writes"].status == "pending"


def test_the_end_reads_back_every_acknowledged_write(rift_cluster):
    result = rift_cluster.down()
    assert result.status == 0, result.summary
    assert result.verdict == "pass"
    lw = result.check("lost_writes")
    assert lw.status == "pass" and lw.detail.startswith("0 acknowledged writes lost"), lw
