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
    starts on a host where a complete virtualenv for its inputs (the server, the requirements and
    every variable the role builds it from) is already there, as after a lost record: the role
    reuses it, as it does any complete one. Tests of the build itself (the dependencies, the first
    deploy, the Molecule scenarios) always build their own."""

    def __init__(self, base):
        self.base = str(base)
        self.made = {}
        # Where each kept virtualenv was built: the path its scripts name their interpreter by.
        self.built_at = {}

    @staticmethod
    def _inputs(app, extra_vars):
        with open(os.path.join(app.src, "requirements.txt"), "rb") as handle:
            requirements = hashlib.sha256(handle.read()).hexdigest()
        return app.server, requirements, tuple(str(extra_vars.get(name)) for name in VENV_INPUTS)

    def seed(self, app, extra_vars):
        # Only the first run of each app: what it builds or finds there is what it was made from.
        app.first_run = not os.path.exists(app.root)
        app.venv_inputs = self._inputs(app, extra_vars)
        if not app.first_run or app.venv_inputs not in self.made:
            return
        name = self.made[app.venv_inputs]
        built_at = self.built_at[name]
        os.makedirs(os.path.join(app.root, "venvs"))
        copy = os.path.join(app.root, "venvs", name)
        # symlinks=True: the virtualenv's python stays the link to the interpreter it was made with.
        shutil.copytree(os.path.join(self.base, name), copy, symlinks=True)
        # Its scripts (uWSGI's, which the role runs) name their interpreter by the path the
        # virtualenv was built at, which the test that built it may have removed since.
        bin_dir = os.path.join(copy, "bin")
        for entry in os.listdir(bin_dir):
            path = os.path.join(bin_dir, entry)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as handle:
                content = handle.read()
            if content.startswith(b"#!" + built_at.encode() + b"/"):
                with open(path, "wb") as handle:
                    handle.write(b"#!" + copy.encode() + content[2 + len(built_at):])

    def keep(self, app, extra_vars, result):
        venv = os.path.join(app.root, "venv")
        first, app.first_run = app.first_run, False
        if not first or result.returncode != 0 or app.venv_inputs in self.made or not os.path.islink(venv):
            return
        name = os.path.basename(os.readlink(venv))
        if not os.path.isfile(os.path.join(app.root, "venvs", name, ".wsgi-deploy-complete")):
            return
        # Inputs that differ only where the role does not look (a default given) share a name.
        if name not in self.built_at:
            shutil.copytree(os.path.join(app.root, "venvs", name), os.path.join(self.base, name), symlinks=True)
            self.built_at[name] = os.path.join(app.root, "venvs", name)
        self.made[app.venv_inputs] = name


@pytest.fixture(scope="session", autouse=True)
def no_app_user_left_from_a_cut_off_run():
    """A run killed halfway leaves its app user's servers running, and that user then cannot be
    removed or made again: this process's test user starts with no process and no account."""
    # Only in this PID namespace: a Molecule container running meanwhile (a developer may run
    # both) may have a user of the same UID.
    subprocess.run(["pkill", "--ns", str(os.getpid()), "--nslist", "pid", "-KILL", "-u", APP_USER],
                   check=False, capture_output=True)
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
    """Yields make(balanced): a fleet of three hosts (tools/fleet.py), each starting from the
    virtualenv the example app needs, built once in this test process; balanced, behind a haproxy
    of its own, started. Stops it all at the end."""
    made = []

    def make(balanced=False):
        fleet = Fleet(tmp_path / "fleet", balanced=balanced)
        if balanced:
            fleet.haproxy.start()
        single = deploy("gunicorn")
        key = built_venvs._inputs(single, {})
        if key not in built_venvs.made:
            single.run(check=True)
        fleet.seed_virtualenv(built_venvs.made[key], os.path.join(built_venvs.base, built_venvs.made[key]))
        made.append(fleet)
        return fleet

    yield make
    for fleet in made:
        fleet.stop()
