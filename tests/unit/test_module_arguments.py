"""The modules' own parameter rules, in process through Ansible's module test helper: refused with
a clear message, before any pidfile is read, any process is looked at or anything is made."""
import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.graceful.wsgi_deploy.plugins.modules import wsgi_release, wsgi_reload

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


def run_module(module, args, capsys):
    """The module's main() with these arguments, as a task would give them: its JSON result."""
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        module.main()
    result = json.loads(capsys.readouterr().out)
    assert exited.value.code != 0 and result["failed"], result
    return result["msg"]


@pytest.mark.parametrize("args,says", CASES, ids=[json.dumps(case[0], sort_keys=True) for case in CASES])
def test_the_module_refuses_arguments_that_cannot_work(args, says, capsys):
    msg = run_module(wsgi_reload, args, capsys)
    assert says in msg
    # Refused on its arguments alone: the (missing) pidfile was never read.
    assert "does not exist" not in msg


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
def test_the_release_module_refuses_arguments_that_cannot_work(args, says, capsys):
    assert says in run_module(wsgi_release, args, capsys)
    assert not os.path.exists("/nonexistent"), "refused before anything was made"
