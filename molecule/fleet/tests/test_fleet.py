"""The fleet behind haproxy, case by case: what the balancer's users saw (failed requests), which
release each host runs, what the shared database recorded, and that haproxy has every host back.

Each case's record is written on the controller by tasks/case.yml; the deploys' own output (the
json callback's) is read with the helpers the role's fleet tests use (tools/fleet.py)."""
import json
import os
import re
import sys
import types

import pytest
import testinfra

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "tools"))
from fleet import batches, fleet_summary, host_facts  # noqa: E402

RESULTS = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "fleet", "results")
APP = ["fleet-web1", "fleet-web2", "fleet-web3"]
DRAIN_TASK = "Balancer | Drain this host, waiting up to wsgi_deploy_drain_timeout for its requests in flight"

# The balancer is the one host these tests look at directly; the app hosts through fixtures.
testinfra_hosts = ["fleet-lb"]


def case(name):
    with open(os.path.join(RESULTS, name + ".json")) as handle:
        return json.load(handle)


def output(run):
    """A run's json callback output, shaped as the helpers in tools/fleet.py read it."""
    with open(run["output"]) as handle:
        return types.SimpleNamespace(stdout=handle.read())


def summary(run):
    return fleet_summary(output(run), first=APP[0])


def failed_release(run):
    return re.match(r"the deploy of release (\S+) failed on ", summary(run)[0]).group(1)


def drained(run, name):
    """Whether the deploy drained the host at haproxy (the drain's task ran for it). A renamed
    task would read as no drain: the drained restart's test, which needs it, would fail."""
    for play in json.loads(output(run).stdout)["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].endswith(DRAIN_TASK) and not task["hosts"].get(name, {"skipped": True}).get("skipped"):
                return True
    return False


def bodies(run):
    return [run["hosts"][name]["body"] for name in APP]


def lives(run):
    return {run["hosts"][name]["live"] for name in APP}


def assert_load_ran_through(seen, before, after):
    """The load ran from before the deploys to after them, through the change of version, and
    was stopped by the case, not by its own bounds (500 s, 500,000 requests)."""
    load = seen["load"]
    assert load["seconds"] < 500 and load["ok"] + load["failed"] < 500000, load
    assert {"hello " + before, "hello " + after} <= set(load["bodies"]), load


def assert_no_failed_request(seen, before, after):
    assert_load_ran_through(seen, before, after)
    assert seen["load"]["failed"] == 0, seen["load"]


def assert_balancer_whole(run):
    assert run["haproxy"] == {name: "UP" for name in APP}
    assert not any(run["hosts"][name]["drained"] for name in APP)


@pytest.fixture
def app_host(request):
    def get(name):
        return testinfra.get_host("ansible://" + name, ansible_inventory=request.config.option.ansible_inventory)
    return get


def test_version_1_went_to_every_host_in_one_batch():
    run = case("v1")["runs"][0]
    assert run["rc"] == 0
    assert batches(output(run)) == [APP]
    assert bodies(run) == ["hello v1"] * 3
    assert len(lives(run)) == 1


def test_rolling_version_2_fails_no_request_at_the_balancer_and_runs_one_release_everywhere():
    seen = case("rolling")
    run = seen["runs"][0]
    assert run["rc"] == 0
    assert_no_failed_request(seen, "v1", "v2")
    assert batches(output(run)) == [["fleet-web1"], ["fleet-web2"], ["fleet-web3"]]
    assert bodies(run) == ["hello v2"] * 3
    (release,) = lives(run)
    for name in APP:
        result = host_facts(output(run), "Record the result in wsgi_deploy_result", name)
        assert result["ansible_facts"]["wsgi_deploy_result"]["release"] == release
    assert summary(run)[0] == "release %s is live on every host" % release
    assert_balancer_whole(run)


def test_the_migration_ran_once_for_the_fleet_on_its_first_host_and_static_files_on_every_host():
    run = case("rolling")["runs"][0]
    (release,) = lives(run)
    assert [line for line in run["migrations"] if line.endswith(release)] == ["fleet-web1 " + release]
    assert sorted(line for line in run["collectstatic"] if line.endswith(release)) == [name + " " + release for name in APP]


def test_a_graceful_reload_takes_no_drain_by_default():
    run = case("rolling")["runs"][0]
    for name in APP:
        result = host_facts(output(run), "Record the result in wsgi_deploy_result", name)
        assert result["ansible_facts"]["wsgi_deploy_result"]["method"] in ("hup", "usr2")
        assert not drained(run, name)


def test_a_release_broken_on_the_second_host_with_fleet_rollback_leaves_every_host_on_the_earlier_one():
    seen = case("broken_fleet_rollback")
    run = seen["runs"][0]
    before = case("rolling")["runs"][0]
    assert run["rc"] != 0
    assert_no_failed_request(seen, "v2", "v3")
    assert bodies(run) == ["hello v2"] * 3
    (earlier,) = lives(before)
    assert lives(run) == {earlier}
    headline, web1, web2, web3 = summary(run)
    release = failed_release(run)
    assert headline.endswith("the hosts that had gone live were rolled back, as each line says")
    assert web1 == "fleet-web1: runs release %s (rolled back from %s)" % (earlier, release)
    assert web2.startswith("fleet-web2: runs release %s (its deploy failed: " % earlier)
    assert "status 500 where 200 was expected" in web2
    assert web3 == "fleet-web3: runs release %s (not touched)" % earlier
    assert_balancer_whole(run)


def test_the_host_after_the_broken_one_is_never_touched(app_host):
    run = case("broken_fleet_rollback")["runs"][0]
    stats = json.loads(output(run).stdout)["stats"]
    assert stats["fleet-web3"]["changed"] == 0, stats["fleet-web3"]
    release = failed_release(run)
    assert "fleet-web3 " + release not in run["collectstatic"]
    assert not app_host("fleet-web3").file("/srv/shop/releases/" + release).exists
    assert "fleet-web2 " + release in run["collectstatic"], "the broken host had built it"


def test_a_deploy_killed_while_a_host_is_drained_leaves_it_out_and_the_next_deploy_puts_it_back():
    seen = case("killed_drained")
    killed, next_run = seen["runs"]
    assert killed["rc"] == -9
    assert killed["hosts"]["fleet-web1"]["drained"] is True
    assert killed["haproxy"]["fleet-web1"] == "MAINT"
    assert next_run["rc"] == 0
    assert bodies(next_run) == ["hello v5"] * 3
    assert_balancer_whole(next_run)
    # The cut-off run had switched the first host to its release (the same code) before its reload:
    # the next run reloads that host onto it, and says that it keeps that release's id.
    cut_off = killed["hosts"]["fleet-web1"]["live"]
    release = next_run["hosts"]["fleet-web2"]["live"]
    assert next_run["hosts"]["fleet-web1"]["live"] == cut_off != release
    assert summary(next_run) == [
        "release %s is live on fleet-web2, fleet-web3; its code was already live, under another release id, on fleet-web1" % release,
        "fleet-web1: runs release %s (its code was already live; reloaded onto it)" % cut_off,
        "fleet-web2: runs release %s (went live in this run)" % release,
        "fleet-web3: runs release %s (went live in this run)" % release,
    ]
    assert_no_failed_request(seen, "v2", "v5")


def test_a_changed_unit_restarts_every_host_each_drained_first():
    run = case("restart_drained")["runs"][0]
    assert run["rc"] == 0
    assert bodies(run) == ["hello v6"] * 3
    for host in APP:
        result = host_facts(output(run), "Record the result in wsgi_deploy_result", host)
        assert result["ansible_facts"]["wsgi_deploy_result"]["method"] == "restart"
        assert drained(run, host)
    assert_balancer_whole(run)


def test_a_restart_with_its_drain_fails_no_request_at_the_balancer():
    assert_no_failed_request(case("restart_drained"), "v5", "v6")
    run = case("restart_drained")["runs"][0]
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
