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

    # A code-only change keeps the virtualenv, builds none, and reloads by the master's own method.
    second_venv = venv_of(app)
    set_version(app, "3")
    again = result_of(app.run(check=True))
    assert again["method"] == {"gunicorn": "ttin", "uwsgi": "chain"}[server]
    assert get(app.port) == "hello v3 with six 1.17.0"
    assert venv_of(app) == second_venv
    assert sorted(os.listdir(os.path.join(app.root, "venvs"))) == sorted([first_venv, second_venv])

    # Rolling back to the first release puts its virtualenv back too.
    app.run(playbook="rollback.yml", check=True, wsgi_deploy_rollback_to=first_release)
    assert venv_of(app) == first_venv and get(app.port) == "hello v1"


def make_package(app_dir, version):
    """The app's own code as a package of its own (src layout), which its requirements install."""
    package = os.path.join(app_dir, "src", "greeting")
    os.makedirs(package, exist_ok=True)
    with open(os.path.join(app_dir, "pyproject.toml"), "w") as handle:
        handle.write('[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
                     '[project]\nname = "greeting"\nversion = "1"\n')
    with open(os.path.join(package, "__init__.py"), "w") as handle:
        handle.write('__version__ = "%s"\n' % version)


def test_requirements_that_install_the_apps_own_source_run_inside_the_release(deploy, tmp_path):
    app = deploy("gunicorn", reuse_venv=False)
    make_package(app.src, "1.0")
    # The editable form, which the role installs as a copy: the same install in the release as a
    # plain "." (how each form of the line is rewritten is the plan's, tests/unit/test_plan.py).
    add_dependency(app.src, requirement="-e .", module="greeting")
    # A directory the app writes, inside its package.
    shared = {"wsgi_deploy_shared_dirs": ["src/greeting/uploads"]}
    app.run(check=True, **shared)
    assert get(app.port) == "hello v1 with greeting 1.0"
    first_venv = venv_of(app)

    # The package's code alone changes: the virtualenv holds a copy of it, so a new one is built.
    make_package(app.src, "2.0")
    result = result_of(app.run(check=True, **shared))
    assert get(app.port) == "hello v1 with greeting 2.0"
    assert venv_of(app) != first_venv and result["method"] == "usr2"
    # src/ is not on the server's path: the answers come from the installed copy, which an
    # editable install would have pointed at the release's unfinished name. Nothing is left behind.
    assert not os.path.exists(os.path.join(app.root, "current", ".wsgi-deploy-requirements.txt"))

    # The same source again: the same virtualenv, nothing to do.
    assert result_of(app.run(check=True, **shared))["changed"] is False

    # The app's user makes its directory a subpackage, with a link to a file only root may read.
    secret = tmp_path / "root-only"
    secret.write_text("root's secret\n")
    secret.chmod(0o600)
    uploads = os.path.join(app.root, "shared", "src", "greeting", "uploads")
    open(os.path.join(uploads, "__init__.py"), "w").close()
    os.symlink(str(secret), os.path.join(uploads, "leak.py"))
    # Only the virtualenv changes (the server's pin, written another way): pip installs the app's
    # source from a new release, a fresh copy, never from the live one, which holds the link.
    before = live(app)
    result = result_of(app.run(check=True, wsgi_deploy_gunicorn_package="gunicorn>=27,==27.0.1", **shared))
    assert result["release"] == live(app) != before and get(app.port) == "hello v1 with greeting 2.0"
    installed = [os.path.join(folder, name) for folder, dummy, names in os.walk(os.path.join(app.root, "venvs"))
                 for name in names if name == "leak.py"]
    assert installed == []
