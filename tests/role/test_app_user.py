"""The app runs as a user of its own, made by the role, on a host without sudo (as this one is,
and as a minimal Debian is): root starts, reloads and checks it, and the app's user can change
none of the code, virtualenv or config it runs."""
import os
import shutil
import stat
import subprocess

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes
from helpers import APP_USER, get, result_of, set_version


def uid_of(pid):
    return processes.credentials(pid)[0]


@pytest.mark.parametrize("server", ["gunicorn", "uwsgi"])
def test_the_app_runs_as_its_own_user_without_sudo_and_cannot_change_what_it_runs(app_user_deploy, server):
    assert shutil.which("sudo") is None, "this host has sudo: the test would not show that none is needed"
    app = app_user_deploy(server)

    # Debian's own Python: the test runner's may live where only root can reach (/root).
    as_app_user = {"wsgi_deploy_user": APP_USER, "wsgi_deploy_python": "/usr/bin/python3"}
    app.run(check=True, **as_app_user)

    app_uid = int(subprocess.run(["id", "-u", APP_USER], capture_output=True, text=True, check=True).stdout)
    master = int(open(app.pidfile).read())
    assert uid_of(master) == app_uid and {uid_of(pid) for pid in processes.children(master)} == {app_uid}
    assert get(app.port) == "hello v1"

    set_version(app, "2")
    result = result_of(app.run(check=True, **as_app_user))
    assert result["reloaded"] is True and get(app.port) == "hello v2"

    # What the app runs belongs to the deploying user, and no one else may write it.
    for path in ("current/main.py", "current", "venv/bin/python", "venv/lib", "etc", "releases", "venvs", "."):
        info = os.stat(os.path.join(app.root, path))
        assert info.st_uid == 0 and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH), path
    # The code is readable by the app's group alone: releases/, through which every release is
    # reached, is; a source may hold what other users must not read.
    app_gid = int(subprocess.run(["id", "-g", APP_USER], capture_output=True, text=True, check=True).stdout)
    releases_dir = os.stat(os.path.join(app.root, "releases"))
    assert releases_dir.st_gid == app_gid and stat.S_IMODE(releases_dir.st_mode) == 0o750
    other = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "cat",
                            os.path.join(app.root, "current", "main.py")], capture_output=True, text=True)
    assert other.returncode != 0 and "Permission denied" in other.stderr
    # The app's user writes only its log and runtime files.
    for path in ("log", "run"):
        assert os.stat(os.path.join(app.root, path)).st_uid == app_uid
