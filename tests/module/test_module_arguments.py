"""The module's own parameter rules, as Ansible runs it: refused with a clear message, before
any pidfile is read or any process is looked at."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)

CASES = [
    ({"server": "gunicorn"}, "server is gunicorn but all of the following are missing: pidfile"),
    ({"server": "uwsgi"}, "server is uwsgi but any of the following are missing: pidfile, reload_file"),
    ({"server": "uwsgi", "pidfile": "/nonexistent/server.pid", "method": "chain"},
     "method is chain but all of the following are missing: reload_file"),
    ({"server": "uwsgi", "pidfile": "/nonexistent/server.pid", "method": "fifo"},
     "method is fifo but all of the following are missing: fifo_file"),
    ({"server": "uwsgi", "pidfile": "/nonexistent/server.pid", "method": "workers"},
     "method is workers but all of the following are missing: fifo_file"),
    ({"server": "uwsgi", "pidfile": "/nonexistent/server.pid"},
     "uWSGI is chain-reloaded by default, which touches reload_file"),
]


def run_module(name, args):
    """The module run by Ansible on this machine, as a task would run it."""
    return subprocess.run(
        [os.path.join(BIN, "ansible"), "localhost", "-m", "graceful.wsgi_deploy." + name, "-a", json.dumps(args)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1"))


@pytest.mark.parametrize("args,says", CASES, ids=[json.dumps(case[0], sort_keys=True) for case in CASES])
def test_the_module_refuses_arguments_that_cannot_work(args, says):
    run = run_module("wsgi_reload", args)
    assert run.returncode != 0
    assert says in run.stdout, run.stdout[-2000:]
    # Refused on its arguments alone: the (missing) pidfile was never read.
    assert "does not exist" not in run.stdout


RELEASE_CASES = [
    ({"state": "switched", "root": "/nonexistent", "release": "r1", "release_key": "k"},
     "a release to complete (release_key given) needs its name in release and its virtualenv in venv"),
    ({"state": "switched", "root": "/nonexistent", "release": "../../etc", "release_key": "k", "venv": "v1"},
     "release must be the name of a directory in releases/"),
    ({"state": "switched", "root": "/nonexistent", "venv": ".."},
     "venv must be the name of a directory in venvs/"),
    ({"state": "switched", "root": "/nonexistent", "release": "r1", "release_key": "k", "venv": "v1",
      "shared": ["../outside"]},
     "each of shared must be a path inside the release"),
    ({"state": "pruned", "root": "/nonexistent", "keep": 0}, "keep must be at least 1"),
    ({"state": "locked"}, "state is locked but all of the following are missing: lock"),
    ({"state": "live", "reload": True}, "reload is True but all of the following are missing: server"),
    ({"state": "live", "reload": True, "server": "uwsgi", "pidfile": "/nonexistent/server.pid", "method": "chain"},
     "method is chain but all of the following are missing: reload_file"),
]


@pytest.mark.parametrize("args,says", RELEASE_CASES,
                         ids=[json.dumps(case[0], sort_keys=True) for case in RELEASE_CASES])
def test_the_release_module_refuses_arguments_that_cannot_work(args, says):
    run = run_module("wsgi_release", args)
    assert run.returncode != 0
    assert says in run.stdout, run.stdout[-2000:]
    assert not os.path.exists("/nonexistent"), "refused before anything was made"
