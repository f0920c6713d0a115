"""The modules' own parameter rules, in process through Ansible's module test helper: refused with
a clear message, before any pidfile is read, any process is looked at or anything is made."""
import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.graceful.wsgi_deploy.plugins.modules import (
    wsgi_app_command, wsgi_balancer_info, wsgi_lock, wsgi_release, wsgi_release_info, wsgi_reload)

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
    (wsgi_release, {"state": "current", "root": "/nonexistent", "release": "r1", "release_key": "k"},
     "a release to complete (release_key given) needs its name in release and its virtualenv in venv_key"),
    (wsgi_release, {"state": "present", "root": "/nonexistent", "release": "../../etc", "release_key": "k", "venv_key": "v1"},
     "release must be the name of a directory in releases/"),
    (wsgi_release, {"state": "current", "root": "/nonexistent", "venv_key": ".."},
     "venv_key must be the name of a directory in venvs/"),
    (wsgi_release, {"state": "current", "root": "/nonexistent", "release": "r1", "release_key": "k", "venv_key": "v1",
                    "shared_paths": ["../outside"]},
     "each of shared_paths must be a path inside the release"),
    (wsgi_release, {"state": "live", "root": "/nonexistent", "keep_releases": 0}, "keep_releases must be at least 1"),
    (wsgi_release, {"state": "present"}, "state is present but all of the following are missing: root"),
    (wsgi_release, {"state": "live", "reload": True}, "reload is True but all of the following are missing: server"),
    (wsgi_release, {"state": "live", "reload": True, "server": "uwsgi", "pidfile": "/nonexistent/server.pid",
                    "method": "chain"},
     "method is chain but all of the following are missing: reload_file"),
    (wsgi_lock, {}, "missing required arguments: path"),
    (wsgi_lock, {"path": "/nonexistent/lock", "unless_unchanged": True, "new_release_name": "../x"},
     "new_release_name must be the name of a directory in releases/"),
    (wsgi_lock, {"path": "/nonexistent/lock", "server": "gunicorn"},
     "server is gunicorn but all of the following are missing: pidfile"),
    (wsgi_release_info, {"server": "uwsgi"},
     "server is uwsgi but any of the following are missing: pidfile, reload_file"),
    (wsgi_app_command, {"root": "/nonexistent", "app_user": "nobody"}, "missing required arguments: commands"),
    (wsgi_app_command, {"root": "/nonexistent", "app_user": "root", "commands": [["true"]]},
     "the app's commands run as the app's user, never as root"),
    (wsgi_balancer_info, {"socket": "/nonexistent/admin.sock", "backend": "app"}, "missing required arguments: server"),
    (wsgi_balancer_info, {"socket": "/nonexistent/admin.sock", "backend": "app", "server": "web1"},
     "haproxy's admin socket /nonexistent/admin.sock does not answer: No such file or directory"),
]


@pytest.mark.parametrize("module,args,says", RELEASE_CASES,
                         ids=[module.__name__.rsplit(".", 1)[-1] + json.dumps(args, sort_keys=True)
                              for module, args, _ in RELEASE_CASES])
def test_the_release_modules_refuse_arguments_that_cannot_work(module, args, says, capsys):
    assert says in run_module(module, args, capsys)
    assert not os.path.exists("/nonexistent"), "refused before anything was made"
