"""The fleet under systemd behind haproxy: version 1 to every host at once, then a changed unit
restarting each host, drained first, while a load runs through the balancer: what the balancer's
users saw (failed requests), what each host serves, and that haproxy has every host back.

The case's record is written on the controller by tasks/case.yml; the deploys' own output (the
json callback's) is read with the helpers the role's fleet tests use (tools/fleet.py)."""
import json
import os
import sys
import types

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "tools"))
from fleet import DRAIN_TASK, batches, drained, host_facts  # noqa: E402

RESULTS = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "fleet", "results")
APP = ["fleet-web1", "fleet-web2"]

# The balancer is the one host these tests look at directly.
testinfra_hosts = ["fleet-lb"]


def case(name):
    with open(os.path.join(RESULTS, name + ".json")) as handle:
        return json.load(handle)


def output(run):
    """A run's json callback output, shaped as the helpers in tools/fleet.py read it."""
    with open(run["output"]) as handle:
        return types.SimpleNamespace(stdout=handle.read())


def bodies(run):
    return [run["hosts"][name]["body"] for name in APP]


def test_version_1_went_to_every_host_in_one_batch():
    run = case("v1")["runs"][0]
    assert run["rc"] == 0
    assert batches(output(run)) == [APP]
    assert bodies(run) == ["hello v1"] * 2
    assert len({run["hosts"][name]["live"] for name in APP}) == 1


def test_a_changed_unit_restarts_every_host_each_drained_first():
    run = case("restart_drained")["runs"][0]
    assert run["rc"] == 0
    assert batches(output(run)) == [["fleet-web1"], ["fleet-web2"]]
    assert bodies(run) == ["hello v2"] * 2
    for host in APP:
        result = host_facts(output(run), "Record the result in wsgi_deploy_result", host)
        assert result["ansible_facts"]["wsgi_deploy_result"]["method"] == "restart"
        assert drained(output(run), host)
    assert run["haproxy"] == {name: "UP" for name in APP}
    assert not any(run["hosts"][name]["drained"] for name in APP)


def test_a_restart_with_its_drain_fails_no_request_at_the_balancer():
    seen = case("restart_drained")
    load = seen["load"]
    # The load ran through the change of version and was stopped by the case, not by its bounds.
    assert load["seconds"] < 500 and load["ok"] + load["failed"] < 500000, load
    assert {"hello v1", "hello v2"} <= set(load["bodies"]), load
    assert load["failed"] == 0, load
    run = seen["runs"][0]
    for host in APP:
        # Out of the balancer, its connections done, before its restart; back in after its health check.
        drain = host_facts(output(run), DRAIN_TASK, host)
        assert [state["status"] for state in drain["state_after"]] == ["MAINT"], drain
        back = host_facts(output(run), "Balancer | Put this host back into the balancer", host)
        assert back["state_after"][0]["status"].startswith("UP"), back


def test_haproxy_has_every_app_host_up_at_the_end(host):
    script = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "tools", "haproxy_stat.py")
    with open(script) as handle:
        states = json.loads(host.check_output("python3 -c %s /run/haproxy/admin.sock shop", handle.read()))
    assert states == {name: "UP" for name in APP}
