"""Bad input is refused with a clear message before anything changes on the server.

No test here starts from a virtualenv built earlier: the server must hold nothing the role did not make."""
import os
import pwd
import subprocess

import pytest

from helpers import result_of


CASES = [
    ({"wsgi_deploy_server": "nginx"}, "wsgi_deploy_server"),
    ({"wsgi_deploy_src": "/nonexistent/app"}, "is not a directory"),
    ({"wsgi_deploy_src": ""}, "wsgi_deploy_src"),
    ({"wsgi_deploy_healthcheck_paht": "/up"},
     "wsgi_deploy_healthcheck_paht is not a variable of the role; did you mean wsgi_deploy_healthcheck_path?"),
    ({"wsgi_deploy_app": "main"}, "module:callable"),
    ({"wsgi_deploy_app": "flaskr:create_app(debug=True)"}, "module:factory()"),
    ({"wsgi_deploy_bind": "8000"}, "host:port"),
    ({"wsgi_deploy_bind": "127.0.0.1:99999"}, "host:port"),
    ({"wsgi_deploy_workers": "two"}, "wsgi_deploy_workers"),
    ({"wsgi_deploy_workers": 0}, "wsgi_deploy_workers must be a whole number from 1"),
    ({"wsgi_deploy_threads": "2.5"}, "wsgi_deploy_threads"),
    ({"wsgi_deploy_name": "Bad Name"}, "wsgi_deploy_name"),
    ({"wsgi_deploy_requirements": "missing.txt"}, "is not a file"),
    ({"wsgi_deploy_delete": "yes"}, "wsgi_deploy_delete"),
    ({"wsgi_deploy_exclude": "*.log"}, "wsgi_deploy_exclude"),
    ({"wsgi_deploy_reload_method": "chain"}, "wsgi_deploy_reload_method must be one of hup, usr2 for gunicorn"),
    ({"wsgi_deploy_max_request_seconds": 0}, "wsgi_deploy_max_request_seconds must be a whole number from 1"),
    ({"wsgi_deploy_shared_dirs": ["../elsewhere"]}, "must be a path inside the app"),
    ({"wsgi_deploy_shared_files": "/etc/app.env"}, "must be a path inside the app"),
    # Inputs that would damage the host: root would hand /var/log and /run to the app's user, and
    # a root or bind with quotes or a newline would become code or a unit line run as root.
    ({"wsgi_deploy_root": "/var"}, "wsgi_deploy_root must be an absolute path of plain names"),
    ({"wsgi_deploy_root": "/var/log"}, "not a system directory"),
    ({"wsgi_deploy_root": "/etc/shop"}, "not a system directory"),
    ({"wsgi_deploy_root": "/."}, "wsgi_deploy_root must be an absolute path of plain names"),
    ({"wsgi_deploy_root": "//srv/shop"}, "wsgi_deploy_root must be an absolute path of plain names"),
    ({"wsgi_deploy_root": "/srv/../etc"}, "wsgi_deploy_root must be an absolute path of plain names"),
    ({"wsgi_deploy_root": "/srv/my shop"}, "wsgi_deploy_root must be an absolute path of plain names"),
    ({"wsgi_deploy_root": "/srv/shop\nExecStartPre=+/bin/sh -c id"}, "wsgi_deploy_root must be an absolute path"),
    ({"wsgi_deploy_user": "root", "wsgi_deploy_service_manager": "systemd"}, "wsgi_deploy_user must not be root"),
    ({"wsgi_deploy_bind": '127.0.0.1:8000" + __import__("os").system("id") + "'}, "host:port"),
    ({"wsgi_deploy_shared_dirs": ["."]}, "of plain names"),
    ({"wsgi_deploy_shared_dirs": ["uploads", "uploads/"]}, "overlap: give each once, and neither inside another"),
    ({"wsgi_deploy_shared_dirs": ["media"], "wsgi_deploy_shared_files": ["media/index.db"]},
     "overlap: give each once, and neither inside another"),
    ({"wsgi_deploy_shared_files": ["main.py"]}, "exists in wsgi_deploy_src: the release would replace it"),
    ({"wsgi_deploy_shared_dirs": ["main.py"]}, "is a file in wsgi_deploy_src; a shared directory would replace it"),
    ({"wsgi_deploy_before_reload_tasks": "/nonexistent/migrate.yml"}, "wsgi_deploy_before_reload_tasks must name a tasks file"),
    ({"wsgi_deploy_server_settings": {"workers": 4}},
     'wsgi_deploy_server_settings: workers cannot be set here; set wsgi_deploy_workers.'),
    ({"wsgi_deploy_server": "uwsgi", "wsgi_deploy_server_settings": {"lazy-apps": False}},
     'wsgi_deploy_server_settings: lazy-apps cannot be set here; the role sets it'),
    ({"wsgi_deploy_server": "uwsgi", "wsgi_deploy_server_settings": {"buffer_size": 8192}},
     "is not a uwsgi setting's name (uWSGI's ini names, as buffer-size)"),
    ({"wsgi_deploy_server_settings": {"accesslog": "-\nbind = '0.0.0.0:80'"}},
     'wsgi_deploy_server_settings: the value of accesslog holds a line break'),
    ({"wsgi_deploy_manage_server": False}, "wsgi_deploy_dest"),
    ({"wsgi_deploy_release_commands": [["python", 3]]}, "wsgi_deploy_release_commands must be a list of commands"),
    ({"wsgi_deploy_release_commands_once": [[]]}, "wsgi_deploy_release_commands_once must be a list of commands"),
    ({"wsgi_deploy_fleet_rollback": True, "wsgi_deploy_keep_releases": 1},
     "wsgi_deploy_fleet_rollback needs wsgi_deploy_keep_releases of 2 or more"),
    ({"wsgi_deploy_haproxy_host": "lb9", "wsgi_deploy_haproxy_backend": "app"}, "wsgi_deploy_haproxy_host lb9 is no host of the inventory"),
    ({"wsgi_deploy_haproxy_host": "localhost"}, "localhost is the haproxy host (wsgi_deploy_haproxy_host), not an app's host"),
    # Host assumptions, found before anything is made: this test host runs no systemd, and an
    # interpreter that cannot make a virtualenv (Debian's python3 without python3-venv) is refused.
    ({"wsgi_deploy_service_manager": "systemd", "wsgi_deploy_user": "wsgibadinput"},
     "this host does not run systemd (it has no /run/systemd/system)"),
    ({"wsgi_deploy_python": "/bin/false"}, "/bin/false cannot make the app's virtualenv here"),
    ({"wsgi_deploy_manage_server": False, "wsgi_deploy_dest": "/tmp"}, "wsgi_deploy_pidfile"),
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


def test_a_controller_without_rsync_is_told_so_before_any_change(deploy, tmp_path, monkeypatch):
    # This controller's own programs, but rsync.
    farm = tmp_path / "bin"
    farm.mkdir()
    for directory in ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"):
        for name in os.listdir(directory) if os.path.isdir(directory) else []:
            if name != "rsync" and not (farm / name).exists():
                (farm / name).symlink_to(os.path.join(directory, name))
    monkeypatch.setenv("PATH", str(farm))
    app = deploy("gunicorn", reuse_venv=False)

    run = app.run()

    assert run.returncode != 0
    assert "rsync is not installed on the controller (this machine)" in run.stdout, run.stdout[-3000:]
    assert not os.path.exists(app.root), "the role created files before refusing"
