"""Runs the role on this machine (connection local, service manager none), like the demo."""
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from fleet import Fleet
from helpers import APP_USER, deploys

# What the role builds a virtualenv from: a first run that sets any of these builds its own.
VENV_INPUTS = ("wsgi_deploy_python", "wsgi_deploy_gunicorn_package", "wsgi_deploy_uwsgi_package",
               "wsgi_deploy_uvicorn_package", "wsgi_deploy_granian_package", "wsgi_deploy_requirements")


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
    deploy, the Molecule scenarios) always build their own.

    pytest's processes share the kept ones (a directory they all see, an index of them, a lock):
    each set of inputs is built once in the run, not once in each process."""

    def __init__(self, base):
        self.base = str(base)
        os.makedirs(self.base, exist_ok=True)
        self._index = os.path.join(self.base, "index.json")
        self._lock = os.path.join(self.base, ".lock")

    @contextlib.contextmanager
    def _locked(self):
        with open(self._lock, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield self._read()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self):
        """{inputs: name} and {name: where it was built}, as every process has kept them so far."""
        if not os.path.exists(self._index):
            return {"made": {}, "built_at": {}}
        with open(self._index) as handle:
            return json.load(handle)

    @staticmethod
    def _inputs(app, extra_vars):
        with open(os.path.join(app.src, "requirements.txt"), "rb") as handle:
            requirements = hashlib.sha256(handle.read()).hexdigest()
        return json.dumps([app.server, requirements] + [str(extra_vars.get(name)) for name in VENV_INPUTS])

    def name_for(self, inputs):
        """The name of the kept virtualenv built from these inputs, or None."""
        with self._locked() as index:
            return index["made"].get(inputs)

    def seed(self, app, extra_vars):
        # Only the first run of each app: what it builds or finds there is what it was made from.
        app.first_run = not os.path.exists(app.root)
        app.venv_inputs = self._inputs(app, extra_vars)
        if not app.first_run:
            return
        with self._locked() as index:
            name = index["made"].get(app.venv_inputs)
            if name is None:
                return
            built_at = index["built_at"][name]
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
        if not first or result.returncode != 0 or not os.path.islink(venv):
            return
        name = os.path.basename(os.readlink(venv))
        if not os.path.isfile(os.path.join(app.root, "venvs", name, ".wsgi-deploy-complete")):
            return
        with self._locked() as index:
            if app.venv_inputs in index["made"]:
                return
            # Inputs that differ only where the role does not look (a default given) share a name.
            if name not in index["built_at"]:
                shutil.copytree(os.path.join(app.root, "venvs", name), os.path.join(self.base, name), symlinks=True)
                index["built_at"][name] = os.path.join(app.root, "venvs", name)
            index["made"][app.venv_inputs] = name
            with open(self._index + ".new", "w") as handle:
                json.dump(index, handle)
            os.replace(self._index + ".new", self._index)


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
    # Each xdist process's base temporary directory is one of the run's: their parent is the run's own.
    run_dir = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run_dir = run_dir.parent
    return BuiltVirtualenvs(run_dir / "built-venvs")


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
        if built_venvs.name_for(key) is None:
            single.run(check=True)
        name = built_venvs.name_for(key)
        fleet.seed_virtualenv(name, os.path.join(built_venvs.base, name))
        made.append(fleet)
        return fleet

    yield make
    for fleet in made:
        fleet.stop()
