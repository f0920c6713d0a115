"""Dependencies: one virtualenv per requirements, switched with the release, made live by a new interpreter."""
import os

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes
from helpers import get, live, result_of, set_version
from testservers import add_dependency


def venv_of(app):
    return os.path.basename(os.readlink(os.path.join(app.root, "venv")))



@pytest.mark.parametrize("server, method", [("gunicorn", "usr2"), ("uwsgi", "full")])
def test_a_release_that_adds_a_dependency_runs_with_it(deploy, server, method):
    app = deploy(server, reuse_venv=False)
    app.run(check=True)
    first_venv, first_release = venv_of(app), live(app)
    old_master = int(open(app.pidfile).read())

    set_version(app, "2")
    add_dependency(app.src)
    result = result_of(app.run(check=True))

    assert result["method"] == method and result["reloaded"] is True
    assert get(app.port) == "hello v2 with six 1.17.0"
    assert venv_of(app) != first_venv
    # The old virtualenv stays while a kept release needs it.
    assert os.path.isdir(os.path.join(app.root, "venvs", first_venv))
    master = int(open(app.pidfile).read())
    assert result["master_pid"] == master and processes.running(master)
    if server == "gunicorn":
        assert master != old_master and not processes.running(old_master)
    else:
        assert master == old_master

    # A code-only change keeps the virtualenv and the master's own graceful method.
    set_version(app, "3")
    again = result_of(app.run(check=True))
    assert again["method"] == {"gunicorn": "hup", "uwsgi": "chain"}[server]
    assert get(app.port) == "hello v3 with six 1.17.0"

    # Rolling back to the first release puts its virtualenv back too.
    app.run(playbook="rollback.yml", check=True, wsgi_deploy_rollback_to=first_release)
    assert venv_of(app) == first_venv and get(app.port) == "hello v1"


def test_unchanged_requirements_reuse_the_virtualenv(deploy):
    app = deploy("gunicorn", reuse_venv=False)
    app.run(check=True)
    venv = venv_of(app)
    set_version(app, "2")
    result = result_of(app.run(check=True))
    assert venv_of(app) == venv and result["method"] == "hup"
    assert os.listdir(os.path.join(app.root, "venvs")) == [venv]
