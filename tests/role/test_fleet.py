"""playbooks/deploy.yml on a fleet of three hosts on this machine (connection local, each its own
root and port): batches, one release id, once-only commands, the first failed host stopping the
run, the fleet rollback and the fleet lock. The balancer in front is the Molecule fleet scenario's."""
import json
import os
import shutil
import subprocess

import pytest

from helpers import get, set_version
from roledeploy import BIN, EXAMPLE, ROOT
from testservers import free_port

HOSTS = ("web1", "web2", "web3")

# Appended to the example app: a release that fails its health check on web2 only, as a host
# whose own settings the new code cannot run with would.
BROKEN_ON_WEB2 = '''

@app.before_request
def broken_on_web2():
    if os.environ.get("FLEET_HOST") == "web2":
        return "this release cannot run on web2\\n", 500
'''


class Fleet(object):
    """Three hosts in an inventory of their own, one source, a database path they share."""

    def __init__(self, base):
        self.base = str(base)
        self.src = os.path.join(self.base, "src")
        shutil.copytree(EXAMPLE, self.src)
        self.migrations = os.path.join(self.base, "shared-db", "migrations.log")
        os.makedirs(os.path.dirname(self.migrations))
        self.each_host = os.path.join(self.base, "each-host.log")
        self.hosts = {name: {"root": os.path.join(self.base, name, "srv", "hello"), "port": free_port()}
                      for name in HOSTS}
        for host in self.hosts.values():
            os.makedirs(os.path.dirname(host["root"]))
        inventory = {"all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                "wsgi_deploy_src": self.src, "wsgi_deploy_name": "hello",
                "wsgi_deploy_user": "{{ lookup('ansible.builtin.pipe', 'id -un') }}",
                "wsgi_deploy_service_manager": "none", "wsgi_deploy_install_packages": False,
                "wsgi_deploy_python": "{{ ansible_playbook_python }}",
                "wsgi_deploy_requirements": "requirements.txt",
                "wsgi_deploy_env": {"FLEET_HOST": "{{ inventory_hostname }}"},
                # The database the fleet shares: migrated once per run. Static files: on every host.
                "wsgi_deploy_release_commands_once": [["sh", "-c", 'echo "$FLEET_HOST" >> ' + self.migrations]],
                "wsgi_deploy_release_commands": [["sh", "-c", 'echo "$FLEET_HOST" >> ' + self.each_host]],
            },
            "hosts": {name: {"wsgi_deploy_root": host["root"], "wsgi_deploy_bind": "127.0.0.1:%d" % host["port"]}
                      for name, host in self.hosts.items()},
        }}
        self.inventory = os.path.join(self.base, "inventory.yml")
        with open(self.inventory, "w") as handle:
            json.dump(inventory, handle)

    def seed_virtualenv(self, name, path):
        """The virtualenv a single-host deploy built, on every host, as BuiltVirtualenvs seeds one."""
        for host in self.hosts.values():
            shutil.copytree(path, os.path.join(host["root"], "venvs", name), symlinks=True)

    def run(self, *args, **extra_vars):
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
        argv = [os.path.join(BIN, "ansible-playbook"), "-i", self.inventory,
                os.path.join(ROOT, "playbooks", "deploy.yml"), "-e", json.dumps(extra_vars)] + list(args)
        return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)

    def serves(self, name):
        return get(self.hosts[name]["port"])

    def live(self, name):
        return os.path.basename(os.readlink(os.path.join(self.hosts[name]["root"], "current")))

    def releases(self, name):
        return sorted(os.listdir(os.path.join(self.hosts[name]["root"], "releases")))

    def ran(self, path):
        with open(path) as handle:
            return handle.read().split()

    def stop(self):
        for name, host in self.hosts.items():
            if os.path.exists(os.path.join(host["root"], "run", "server.pid")):
                env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
                subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", self.inventory, "--limit", name,
                                os.path.join(ROOT, "playbooks", "stop.yml")],
                               cwd=ROOT, env=env, capture_output=True, timeout=120)


def batches(run):
    """The hosts of each batch of the deploy play, in order, from the json callback's output."""
    plays = json.loads(run.stdout)["plays"]
    return [sorted(play["tasks"][0]["hosts"]) for play in plays
            if play["play"]["name"].startswith("Deploy a WSGI app")]


def host_facts(run, task_end, name):
    for play in json.loads(run.stdout)["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].endswith(task_end) and name in task["hosts"]:
                return task["hosts"][name]
    raise AssertionError("no task %r for %s in the output" % (task_end, name))


def fleet_summary(run):
    return host_facts(run, "Say which host runs which release", "web1")["msg"]


@pytest.fixture
def fleet(tmp_path, deploy, built_venvs):
    made = Fleet(tmp_path / "fleet")
    # The virtualenv the example app needs, built once in this test process, on every host.
    single = deploy("gunicorn")
    key = built_venvs._inputs(single)
    if key not in built_venvs.made:
        single.run(check=True)
    made.seed_virtualenv(built_venvs.made[key], os.path.join(built_venvs.base, built_venvs.made[key]))
    yield made
    made.stop()


def test_a_fleet_goes_live_batch_by_batch_on_one_release_id_with_its_migrations_run_once(fleet):
    first = fleet.run()
    assert first.returncode == 0, first.stdout[-5000:]
    # Default batches [1, "50%", "100%"]: the canary, then the rest in halves.
    assert batches(first) == [["web1"], ["web2"], ["web3"]]
    v1 = fleet.live("web1")
    assert [fleet.live(name) for name in HOSTS] == [v1] * 3
    assert fleet.ran(fleet.migrations) == ["web1"]

    set_version(fleet, "2")
    check = fleet.run("--check")
    assert check.returncode == 0, check.stdout[-5000:]
    assert [fleet.serves(name) for name in HOSTS] == ["hello v1"] * 3
    assert [fleet.releases(name) for name in HOSTS] == [[v1]] * 3

    second = fleet.run("-e", '{"wsgi_deploy_batches": [1, 2]}')
    assert second.returncode == 0, second.stdout[-5000:]
    assert batches(second) == [["web1"], ["web2", "web3"]]
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


def test_the_first_failed_host_stops_the_run_and_the_fleet_rollback_brings_back_one_version(fleet):
    assert fleet.run().returncode == 0
    v1 = fleet.live("web1")
    set_version(fleet, "2")
    with open(os.path.join(fleet.src, "main.py"), "a") as handle:
        handle.write(BROKEN_ON_WEB2)

    failed = fleet.run()
    assert failed.returncode == 2
    v2 = fleet.live("web1")
    # web1 went live; web2 failed its health check and rolled itself back; web3 was not touched.
    assert (fleet.serves("web1"), fleet.serves("web2"), fleet.serves("web3")) == ("hello v2", "hello v1", "hello v1")
    assert (fleet.live("web2"), fleet.live("web3")) == (v1, v1)
    assert fleet.releases("web3") == [v1]
    summary = fleet_summary(failed)
    assert summary[0].startswith("the deploy of release %s failed on web2; no host after it was touched" % v2)
    assert summary[1] == "web1: runs release %s (went live in this run)" % v2
    assert summary[2].startswith("web2: runs release %s (its deploy failed: " % v1)
    assert "the app does not answer its health check as expected: status 500" in summary[2]
    assert summary[3] == "web3: runs release %s (not touched)" % v1
    # The run fails on the failed host, with what its deploy said.
    final = host_facts(failed, "Fail the host whose deploy failed, as its deploy said", "web2")
    assert final["failed"] and "this release cannot run on web2" in final["msg"]

    set_version(fleet, "3")
    rolled = fleet.run("-e", '{"wsgi_deploy_fleet_rollback": true}')
    assert rolled.returncode == 2
    v3 = sorted(fleet.releases("web1"))[-1]
    assert [fleet.serves(name) for name in HOSTS] == ["hello v2", "hello v1", "hello v1"]
    assert [fleet.live(name) for name in HOSTS] == [v2, v1, v1]
    assert fleet_summary(rolled)[1] == "web1: runs release %s (rolled back from %s)" % (v2, v3)
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
    assert fleet.run().returncode == 0
    assert [fleet.serves(name) for name in HOSTS] == ["hello v1"] * 3
    assert not os.path.exists(lock)


@pytest.mark.parametrize("release_id, says", [
    ("v2", "wsgi_deploy_release_id must be a UTC time as the role names releases"),
    ("20000101T000000000000Z", "The release id 20000101T000000000000Z does not sort after release"),
])
def test_a_release_id_that_is_no_time_or_not_after_the_hosts_releases_is_refused(deploy, release_id, says):
    app = deploy("gunicorn")
    app.run(check=True)
    before = sorted(os.listdir(os.path.join(app.root, "releases")))
    set_version(app, "2")
    refused = app.run(wsgi_deploy_release_id=release_id)
    assert refused.returncode == 2
    assert says in refused.stdout
    assert sorted(os.listdir(os.path.join(app.root, "releases"))) == before
    assert get(app.port) == "hello v1"
