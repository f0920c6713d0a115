"""Bad input is refused with a clear message before anything changes on the server.

No test here starts from a virtualenv built earlier: the server must hold nothing the role did not make."""
import os
import pwd
import subprocess

import pytest

from helpers import result_of


# Validate's own decisions are tests/unit/test_inputs.py's: here, once each, that a run refuses
# before anything changes, through the argument specs, Validate, and Preflight's look at the host.
CASES = [
    ({"wsgi_deploy_server": "nginx"}, "value of wsgi_deploy_server must be one of: gunicorn, uwsgi, uvicorn, granian, got: nginx"),
    ({"wsgi_deploy_workers": 0, "wsgi_deploy_healthcheck_paht": "/up"},
     "wsgi_deploy_workers must be a whole number from 1 to 512, not 0. wsgi_deploy_healthcheck_paht is not a "
     "variable of the role; did you mean wsgi_deploy_healthcheck_path?"),
    # Host assumptions, found before anything is made: this test host runs no systemd, and an
    # interpreter that cannot make a virtualenv (Debian's python3 without python3-venv) is refused.
    ({"wsgi_deploy_service_manager": "systemd", "wsgi_deploy_user": "wsgibadinput"},
     "this host does not run systemd (it has no /run/systemd/system)"),
    ({"wsgi_deploy_python": "/bin/false"}, "/bin/false cannot make the app's virtualenv here"),
]


@pytest.mark.parametrize("bad,says", CASES, ids=[str(sorted(c[0].items())) for c in CASES])
def test_bad_input_fails_clearly_before_any_change(deploy, bad, says):
    app = deploy("gunicorn", reuse_venv=False)
    run = app.run(**bad)
    assert run.returncode != 0
    assert says in run.stdout, run.stdout[-3000:]
    assert not os.path.exists(app.root), "the role created files before refusing"


def test_a_server_set_up_by_hand_that_is_not_running_is_refused_and_its_code_kept(deploy, tmp_path):
    app = deploy("gunicorn", reuse_venv=False)
    dest = tmp_path / "byo"
    dest.mkdir()
    (dest / "main.py").write_text("kept\n")
    run = app.run(wsgi_deploy_manage_server=False, wsgi_deploy_dest=str(dest),
                  wsgi_deploy_pidfile=str(dest / "gunicorn.pid"))
    assert run.returncode != 0
    assert "is not running" in run.stdout and "Nothing was changed" in run.stdout
    assert (dest / "main.py").read_text() == "kept\n"


def test_a_bind_by_host_name_is_accepted_and_the_app_answers_there(deploy):
    app = deploy("gunicorn", reuse_venv=False)
    run = app.run(check=True, wsgi_deploy_bind="localhost:%d" % app.port)
    assert result_of(run)["healthcheck_status"] == 200


@pytest.fixture
def login_user():
    """A person's account on the server, with a login shell and a home of its own."""
    name = "wsgitestlogin"
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)
    yield name
    subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)


@pytest.mark.parametrize("user,says", [
    ("login", "is an existing login user (shell /bin/bash"),
    ("nobody", "wsgi_deploy_user nobody has the group nogroup"),
])
def test_an_existing_user_the_role_would_damage_is_refused_and_left_alone(deploy, request, user, says):
    name = request.getfixturevalue("login_user") if user == "login" else user
    before = pwd.getpwnam(name)
    app = deploy("gunicorn", reuse_venv=False)
    run = app.run(wsgi_deploy_user=name)
    assert run.returncode != 0
    assert says in run.stdout and "Nothing was changed" in run.stdout, run.stdout[-3000:]
    assert pwd.getpwnam(name) == before, "the user's shell or home changed"
    assert not os.path.exists(app.root)
