"""Runs the role on this machine (connection local, service manager none), like the demo."""
import hashlib
import os
import shutil
import subprocess
import tempfile

import pytest

from fleet import Fleet
from helpers import APP_USER, deploys

# What the role builds a virtualenv from: a first run that sets any of these builds its own.
VENV_INPUTS = ("wsgi_deploy_python", "wsgi_deploy_gunicorn_package", "wsgi_deploy_uwsgi_package",
               "wsgi_deploy_requirements")


@pytest.fixture(autouse=True)
def json_output(monkeypatch):
    """The role's runs print JSON, from which the tests read wsgi_deploy_result."""
    monkeypatch.setenv("ANSIBLE_STDOUT_CALLBACK", "ansible.posix.json")


class BuiltVirtualenvs(object):
    """The virtualenvs that the role built for one test, kept for the next tests' first deploys.

    Building one from PyPI costs most of a first deploy. A test that is not about building it
    starts on a host where a complete virtualenv for its key is already there, as after a lost
    record: the role reuses it, as it does any complete one. Tests of the build itself (the
    dependencies, the first deploy, the Molecule scenarios) always build their own."""

    def __init__(self, base):
        self.base = str(base)
        self.made = {}

    @staticmethod
    def _inputs(app):
        with open(os.path.join(app.src, "requirements.txt"), "rb") as handle:
            return app.server, hashlib.sha256(handle.read()).hexdigest()

    def seed(self, app, extra_vars):
        # Only the first run of each app: what it builds or finds there is what it was made from.
        app.first_run = not os.path.exists(app.root) and not set(VENV_INPUTS) & set(extra_vars)
        if not app.first_run or self._inputs(app) not in self.made:
            return
        name = self.made[self._inputs(app)]
        os.makedirs(os.path.join(app.root, "venvs"))
        # symlinks=True: the virtualenv's python stays the link to the interpreter it was made with.
        shutil.copytree(os.path.join(self.base, name), os.path.join(app.root, "venvs", name), symlinks=True)

    def keep(self, app, extra_vars, result):
        venv = os.path.join(app.root, "venv")
        first, app.first_run = app.first_run, False
        if not first or result.returncode != 0 or self._inputs(app) in self.made or not os.path.islink(venv):
            return
        name = os.path.basename(os.readlink(venv))
        if not os.path.isfile(os.path.join(app.root, "venvs", name, ".wsgi-deploy-complete")):
            return
        shutil.copytree(os.path.join(app.root, "venvs", name), os.path.join(self.base, name), symlinks=True)
        self.made[self._inputs(app)] = name


@pytest.fixture(scope="session", autouse=True)
def no_app_user_left_from_a_cut_off_run():
    """A run killed halfway leaves its app user's servers running, and that user then cannot be
    removed or made again: this process's test user starts with no process and no account."""
    subprocess.run(["pkill", "-KILL", "-u", APP_USER], check=False, capture_output=True)
    subprocess.run(["userdel", APP_USER], check=False, capture_output=True)


@pytest.fixture(scope="session")
def built_venvs(tmp_path_factory):
    return BuiltVirtualenvs(tmp_path_factory.mktemp("built-venvs"))


@pytest.fixture
def deploy(tmp_path, built_venvs):
    yield from deploys(tmp_path, built_venvs)


@pytest.fixture
def app_user_deploy(built_venvs):
    """A deploy whose root the app's user can reach: the test's own tmp_path, under a 0700
    directory, is out of its reach, as a private clone is."""
    base = tempfile.mkdtemp(prefix="wsgi-app-user-", dir="/srv")
    os.chmod(base, 0o755)
    yield from deploys(base, built_venvs)
    shutil.rmtree(base)
    subprocess.run(["userdel", APP_USER], check=False, capture_output=True)


@pytest.fixture
def make_fleet(tmp_path, deploy, built_venvs):
    """Yields make(): a fleet of three hosts (tools/fleet.py), each starting from the virtualenv
    the example app needs, built once in this test process. Stops it at the end. The fleet behind
    haproxy is the Molecule fleet scenario's."""
    made = []

    def make():
        fleet = Fleet(tmp_path / "fleet")
        single = deploy("gunicorn")
        key = built_venvs._inputs(single)
        if key not in built_venvs.made:
            single.run(check=True)
        fleet.seed_virtualenv(built_venvs.made[key], os.path.join(built_venvs.base, built_venvs.made[key]))
        made.append(fleet)
        return fleet

    yield make
    for fleet in made:
        fleet.stop()
