"""A deploy cut off half-way, a stale pidfile: the live release keeps serving, the next deploy succeeds."""
import json
import os
import signal
import subprocess
import time

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes
from helpers import assert_no_request_failed, get, live, result_of, set_version, under_load


def test_a_deploy_killed_during_the_sync_leaves_the_live_release_and_the_next_one_succeeds(deploy):
    # The sync and the lock are the same for either server.
    app = deploy("gunicorn")
    app.run(check=True)
    current = live(app)
    master = int(open(app.pidfile).read())
    # Enough files that the sync takes a while to copy.
    bulk = os.path.join(app.src, "bulk")
    os.makedirs(bulk)
    for index in range(6000):
        with open(os.path.join(bulk, "f%05d.txt" % index), "w") as handle:
            handle.write("%d\n" % index * 50)
    set_version(app, "2")
    with under_load(app) as load:
        proc = app.start_run()
        releases = os.path.join(app.root, "releases")
        deadline = time.monotonic() + 300
        while not any(name.endswith(".partial") for name in os.listdir(releases)):
            assert proc.poll() is None, "the deploy ended before its sync began"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        kill_tree(proc.pid)
        proc.wait()

        assert live(app) == current and get(app.port) == "hello v1"
        assert int(open(app.pidfile).read()) == master
        assert os.path.isdir(os.path.join(app.root, ".deploy.lock")), "the killed deploy held the lock"

        run = app.run(check=True)
    assert_no_request_failed(load)
    assert "broke the lock" in run.stdout
    assert get(app.port) == "hello v2"
    assert not [name for name in os.listdir(releases) if name.endswith(".partial")]
    assert result_of(run)["reloaded"] is True


def kill_tree(root):
    """SIGKILL a process and all its descendants: ansible-playbook's workers run in sessions
    of their own, so killing its process group would leave them (and their rsync) running."""
    while True:
        family = {root}
        for _ in range(10):
            for pid in processes.pids():
                try:
                    if processes.ppid(pid) in family:
                        family.add(pid)
                except processes.ProcessGone:
                    continue
        alive = [pid for pid in family if processes.running(pid)]
        if not alive:
            return
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def test_a_lock_held_from_another_controller_is_waited_for_not_broken(deploy):
    app = deploy("gunicorn")
    app.run(check=True)
    lock = os.path.join(app.root, ".deploy.lock")
    os.mkdir(lock)
    with open(os.path.join(lock, "owner"), "w") as handle:
        json.dump({"controller": "elsewhere", "pid": 1, "since": "earlier"}, handle)
    set_version(app, "2")
    run = app.run(wsgi_deploy_lock_timeout=2)
    assert run.returncode != 0
    assert "another deploy holds the lock" in run.stdout and "elsewhere" in run.stdout
    assert os.path.isdir(lock) and get(app.port) == "hello v1"


@pytest.mark.parametrize("server", ["gunicorn", "uwsgi"])
def test_a_stale_pidfile_naming_a_live_process_is_refused_and_that_process_not_signalled(deploy, server):
    app = deploy(server)
    app.run(check=True)
    master = int(open(app.pidfile).read())
    bystander = subprocess.Popen(["sleep", "300"])
    try:
        while processes.argv(bystander.pid)[:1] != ["sleep"]:
            time.sleep(0.01)
        with open(app.pidfile, "w") as handle:
            handle.write("%d\n" % bystander.pid)
        set_version(app, "2")
        with under_load(app) as load:
            run = app.run()
        assert run.returncode != 0
        assert_no_request_failed(load)
        assert "runs `sleep 300`, not a %s master" % server in run.stdout
        assert "that process was not signalled" in run.stdout and "Nothing was changed" in run.stdout
        assert bystander.poll() is None
        assert processes.running(master) and get(app.port) == "hello v1"
    finally:
        bystander.kill()
        bystander.wait()
        with open(app.pidfile, "w") as handle:
            handle.write("%d\n" % master)
