"""The role run for real on this machine as a daemon-managed server: deploys, check mode."""
import os
import pwd
import subprocess

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes
from helpers import APP_USER, get, result_of, set_version


@pytest.mark.parametrize("server", ["gunicorn", "uwsgi"])
def test_first_deploy_starts_the_server_and_the_next_reloads_it(deploy, server):
    app = deploy(server, reuse_venv=False)
    first = result_of(app.run(check=True))
    assert first["method"] == "start" and first["reloaded"] is False
    assert get(app.port) == "hello v1"
    master = int(open(app.pidfile).read())

    set_version(app, "2")
    second = result_of(app.run(check=True))

    assert second["reloaded"] is True and second["changed"] is True
    assert second["method"] == {"gunicorn": "ttin", "uwsgi": "chain"}[server]
    assert second["master_pid"] == master
    assert not set(second["new_pids"]) & set(second["old_pids"])
    assert get(app.port) == "hello v2"

    third = result_of(app.run(check=True))
    assert third["changed"] is False and third["reloaded"] is False
    assert processes.children(master) == sorted(second["new_pids"])


def test_check_mode_twin_reports_the_change_and_touches_nothing(deploy):
    app = deploy("gunicorn")
    app.run(check=True)
    master = int(open(app.pidfile).read())
    workers = processes.children(master)
    deployed = os.path.join(app.root, "current", "main.py")
    before = open(deployed).read()

    set_version(app, "2")
    run = app.run("--check", "--diff", check=True)
    result = result_of(run)

    assert result["changed"] is True and result["reloaded"] is False
    assert open(deployed).read() == before
    assert processes.children(master) == workers
    assert get(app.port) == "hello v1"


@pytest.mark.parametrize("as_app_user", [False, True], ids=["deploying user", "new app user"])
def test_check_mode_on_a_first_deploy_reports_the_change_and_makes_nothing(deploy, app_user_deploy, as_app_user):
    # A new app user is not made in check mode: nothing after may need it to exist.
    app = app_user_deploy("gunicorn", reuse_venv=False) if as_app_user else deploy("gunicorn", reuse_venv=False)
    setup = {"wsgi_deploy_user": APP_USER, "wsgi_deploy_python": "/usr/bin/python3"} if as_app_user else {}
    subprocess.run(["userdel", APP_USER], check=False, capture_output=True)  # left by an earlier test, if any

    run = app.run("--check", "--diff", check=True, **setup)

    result = result_of(run)
    assert result["changed"] is True and result["reloaded"] is False
    assert "check mode, the code would change, and gunicorn would be started" in run.stdout
    assert not os.path.exists(app.root)
    if as_app_user:
        with pytest.raises(KeyError):
            pwd.getpwnam(APP_USER)


def test_health_check_headers_never_show_in_the_output(deploy):
    app = deploy("gunicorn")
    headers = {"Host": "127.0.0.1", "X-Health-Token": "s3cret-health-token"}
    # At -vvv each result holds the module's arguments ("invocation"): the headers there are hidden.
    run = app.run("-vvv", check=True, wsgi_deploy_healthcheck_headers=headers)
    assert '"X-Health-Token": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' in run.stdout
    assert "s3cret-health-token" not in run.stdout
