"""playbooks/deploy.yml on a fleet of three hosts on this machine (connection local, each its own
root and port), behind a haproxy of its own where a load goes through it: batches, one release
id, once-only commands, the first failed host stopping the run, the fleet rollback and the fleet
lock. What needs systemd (a restart, drained) is the Molecule fleet scenario's."""
import json
import os

import pytest

from fleet import HOSTS, batches, drained, fleet_summary, host_facts
from helpers import assert_no_request_failed, get, set_version, under_load

# Appended to the example app: a release whose health check fails on web2 only, as on a host whose
# own settings the new code cannot run with; its pages still answer.
BROKEN_ON_WEB2 = '''

@app.before_request
def broken_on_web2():
    if request.path == "/healthz" and os.environ.get("FLEET_HOST") == "web2":
        return "this release cannot run on web2\\n", 500
'''


@pytest.fixture
def fleet(make_fleet):
    return make_fleet()


@pytest.fixture
def balanced_fleet(make_fleet):
    fleet = make_fleet(balanced=True)
    # Nothing answers before the first start: the hosts start in one batch.
    first = fleet.run("-e", '{"wsgi_deploy_batches": ["100%"]}')
    assert first.returncode == 0, first.stdout[-5000:]
    assert fleet.haproxy.wait_all_up(), fleet.haproxy.states()
    fleet.first = first
    return fleet


def through_the_balancer(fleet):
    """A bounded, paced load of 4 clients through the fleet's haproxy, for a `with` block."""
    return under_load(fleet, fleet.haproxy.url)


def test_a_fleet_goes_live_batch_by_batch_on_one_release_id_with_its_migrations_run_once(balanced_fleet):
    fleet, first = balanced_fleet, balanced_fleet.first
    assert batches(first) == [["web1", "web2", "web3"]]
    v1 = fleet.live("web1")
    assert [fleet.live(name) for name in HOSTS] == [v1] * 3
    assert fleet.ran(fleet.migrations) == ["web1"]

    set_version(fleet, "2")
    check = fleet.run("--check")
    assert check.returncode == 0, check.stdout[-5000:]
    assert [fleet.serves(name) for name in HOSTS] == ["hello v1"] * 3
    assert [fleet.releases(name) for name in HOSTS] == [[v1]] * 3

    with through_the_balancer(fleet) as load:
        second = fleet.run("-e", '{"wsgi_deploy_batches": [1, 2]}')
    assert second.returncode == 0, second.stdout[-5000:]
    assert batches(second) == [["web1"], ["web2", "web3"]]
    # Each host reloaded in place, in the balancer all along: no drain for a graceful reload, and
    # no request through haproxy failed while the fleet went from one version to the other.
    assert_no_request_failed(load)
    assert {"hello v1", "hello v2"} <= set(load.bodies), load.report()
    for name in HOSTS:
        method = host_facts(second, "Record the result in wsgi_deploy_result", name)["ansible_facts"][
            "wsgi_deploy_result"]["method"]
        assert method == "ttin" and not drained(second, name), (name, method)
        assert not os.path.exists(os.path.join(fleet.hosts[name]["root"], ".drained"))
    assert fleet.haproxy.states() == {name: "UP" for name in HOSTS}
    assert [fleet.serves(name) for name in HOSTS] == ["hello v2"] * 3
    v2 = fleet.live("web1")
    assert v2 > v1
    assert [fleet.live(name) for name in HOSTS] == [v2] * 3
    for name in HOSTS:
        assert host_facts(second, "Record the result in wsgi_deploy_result", name)["ansible_facts"][
            "wsgi_deploy_result"]["release"] == v2
    assert fleet_summary(second)[0] == "release %s is live on every host" % v2
    # Once per run, on the first host; the other commands on every host, once per run each.
    assert fleet.ran(fleet.migrations) == ["web1", "web1"]
    assert sorted(fleet.ran(fleet.each_host)) == sorted(HOSTS * 2)

    # The same source again: no host has anything to do, and the summary does not claim the
    # run's new release id went live anywhere.
    again = fleet.run()
    assert again.returncode == 0, again.stdout[-5000:]
    # Default batches [1, "50%", "100%"]: the canary, then the rest in halves.
    assert batches(again) == [["web1"], ["web2"], ["web3"]]
    assert [fleet.live(name) for name in HOSTS] == [v2] * 3
    assert fleet_summary(again) == [
        "no new release: every host already ran this code, on the release its line names"] + [
        "%s: runs release %s (unchanged)" % (name, v2) for name in HOSTS]
    assert fleet.ran(fleet.migrations) == ["web1", "web1"]


def test_the_first_failed_host_stops_the_run_and_the_fleet_rollback_brings_back_one_version(balanced_fleet):
    fleet = balanced_fleet
    v1 = fleet.live("web1")
    set_version(fleet, "2")
    with open(os.path.join(fleet.src, "main.py"), "a") as handle:
        handle.write(BROKEN_ON_WEB2)

    with through_the_balancer(fleet) as load:
        failed = fleet.run()
    assert failed.returncode == 2
    assert_no_request_failed(load)
    assert fleet.haproxy.wait_all_up(), fleet.haproxy.states()
    v2 = fleet.live("web1")
    # web1 went live; web2 failed its health check and rolled itself back; web3 was not touched.
    assert (fleet.serves("web1"), fleet.serves("web2"), fleet.serves("web3")) == ("hello v2", "hello v1", "hello v1")
    assert (fleet.live("web2"), fleet.live("web3")) == (v1, v1)
    assert fleet.releases("web3") == [v1]
    summary = fleet_summary(failed)
    assert summary[0].startswith("the deploy of release %s failed on web2; no later batch was started" % v2)
    assert "wsgi_deploy_fleet_rollback: true would roll them back" in summary[0]
    assert summary[1] == "web1: runs release %s (went live in this run)" % v2
    assert summary[2].startswith("web2: runs release %s (its deploy failed: " % v1)
    assert "the app does not answer its health check as expected: status 500" in summary[2]
    assert summary[3] == "web3: runs release %s (not touched)" % v1
    # Not touched: nothing changed on web3, which ran none of the release's commands.
    assert json.loads(failed.stdout)["stats"]["web3"]["changed"] == 0
    assert sorted(fleet.ran(fleet.each_host)) == sorted(list(HOSTS) + ["web1", "web2"])
    # The run fails on the failed host; why is said once, by its deploy's own task.
    final = host_facts(failed, "Fleet | Fail the host whose deploy failed", "web2")
    assert final["failed"] and final["msg"] == "the deploy failed on web2, as its failed task says above"
    said = host_facts(failed, "Go live | Stop the deploy and say why", "web2")
    # The app's answer quoted with its environment's values masked, as all that is printed is.
    assert said["failed"] and "The app answered: this release cannot run on ********" in said["msg"]

    # web3 now shares web2's batch: it finishes its own deploy while web2 fails, and the fleet
    # rollback takes it back with web1, so that the fleet ends on the versions it ran before.
    set_version(fleet, "3")
    with through_the_balancer(fleet) as load:
        rolled = fleet.run("-e", '{"wsgi_deploy_fleet_rollback": true, "wsgi_deploy_batches": [1, 2]}')
    assert rolled.returncode == 2
    # Two hosts went live and came back under the load, and no request through haproxy failed.
    assert_no_request_failed(load)
    assert {"hello v2", "hello v3"} <= set(load.bodies), load.report()
    assert fleet.haproxy.wait_all_up(), fleet.haproxy.states()
    v3 = sorted(fleet.releases("web1"))[-1]
    assert v3 > v2 and v3 in fleet.releases("web3")
    assert [fleet.serves(name) for name in HOSTS] == ["hello v2", "hello v1", "hello v1"]
    assert [fleet.live(name) for name in HOSTS] == [v2, v1, v1]
    summary = fleet_summary(rolled)
    assert summary[0].endswith("the hosts that had gone live were rolled back, as each line says")
    assert summary[2].startswith("web2: runs release %s (its deploy failed: " % v1)
    assert summary[1] == "web1: runs release %s (rolled back from %s)" % (v2, v3)
    assert summary[3] == "web3: runs release %s (rolled back from %s)" % (v1, v3)
    # Migrated once in each of the three runs, always on the first host.
    assert fleet.ran(fleet.migrations) == ["web1"] * 3


def test_a_second_fleet_deploy_waits_for_the_fleet_lock_and_fails_changing_nothing(fleet):
    # Another controller's fleet deploy holds the lock, beside the first host's app root.
    lock = os.path.join(os.path.dirname(fleet.hosts["web1"]["root"]), ".hello.fleet.lock")
    os.mkdir(lock)
    with open(os.path.join(lock, "owner"), "w") as handle:
        json.dump({"controller": "another-controller", "pid": 4242, "since": "2026-12-03 10:00:00 UTC"}, handle)

    blocked = fleet.run("-e", '{"wsgi_deploy_lock_timeout": 2}')
    assert blocked.returncode == 2
    message = host_facts(blocked, "Take the fleet lock on the first host, waiting for another fleet deploy that holds it",
                         "web1")["msg"]
    assert "another deploy holds the lock %s" % lock in message and "another-controller" in message
    assert "Nothing was changed" in message
    # No host got a release: each holds only the virtualenv the test put there.
    assert [sorted(os.listdir(host["root"])) for host in fleet.hosts.values()] == [["venvs"]] * 3

    # That deploy ended: its lock is gone, and the next fleet deploy runs and leaves none.
    os.rename(lock, lock + ".gone")
    after = fleet.run()
    assert after.returncode == 0, after.stdout[-6000:]
    assert [fleet.serves(name) for name in HOSTS] == ["hello v1"] * 3
    assert not os.path.exists(lock)


# One that is no UTC time at all is refused with the inputs (tests/unit/test_inputs.py).
def test_a_release_id_that_does_not_sort_after_the_hosts_releases_is_refused(deploy):
    release_id, says = "20000101T000000000000Z", "The release id 20000101T000000000000Z does not sort after release"
    app = deploy("gunicorn")
    app.run(check=True)
    before = sorted(os.listdir(os.path.join(app.root, "releases")))
    set_version(app, "2")
    refused = app.run(wsgi_deploy_release_id=release_id)
    assert refused.returncode == 2
    assert says in refused.stdout
    assert sorted(os.listdir(os.path.join(app.root, "releases"))) == before
    assert get(app.port) == "hello v1"
