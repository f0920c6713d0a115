"""Validate's decisions, in process: each bad input is refused with a sentence that says what to set,
every good one passes, and nothing but the controller's own files is read."""
import os
import subprocess

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.graceful.wsgi_deploy.plugins.action.wsgi_plan import role_options
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import inputs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KNOWN, MAIN = role_options()


@pytest.fixture
def src(tmp_path):
    """An app's source on the controller, with a requirements file."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text("def app(environ, start_response): pass\n")
    (app / "requirements.txt").write_text("flask\n")
    return app


def role_defaults():
    with open(os.path.join(ROOT, "roles", "wsgi_deploy", "defaults", "main.yml")) as handle:
        return yaml.safe_load(handle)


def defaults(given):
    """The role's defaults as Ansible would template them, with what the test gives."""
    values = dict(role_defaults(), **given)
    for name, value in values.items():
        if isinstance(value, str):
            values[name] = (value.replace("{{ wsgi_deploy_name }}", values["wsgi_deploy_name"])
                            .replace("{{ inventory_hostname }}", "localhost"))
    return values


def check(src, given, hosts=("localhost",), **context):
    values = defaults(dict({"wsgi_deploy_src": str(src)}, **given))
    return inputs.problems(values, inputs.Context(inventory_hosts=hosts, known=KNOWN, given=list(given),
                                                  **context))


def test_the_defaults_with_a_source_pass(src):
    assert check(src, {}) == []


CASES = [
    ({"wsgi_deploy_src": "/nonexistent/app"}, "\"/nonexistent/app\" is not a directory"),
    ({"wsgi_deploy_src": ""}, "wsgi_deploy_src must name the app's directory on the controller; \"\" is empty"),
    ({"wsgi_deploy_healthcheck_paht": "/up"},
     "wsgi_deploy_healthcheck_paht is not a variable of the role; did you mean wsgi_deploy_healthcheck_path?"),
    ({"wsgi_deploy_a_name_nobody_uses": 1}, "wsgi_deploy_a_name_nobody_uses is not a variable of the role (README, Variables, lists them all)."),
    ({"wsgi_deploy_app": "main"}, "wsgi_deploy_app must be module:callable"),
    ({"wsgi_deploy_app": "flaskr:create_app(debug=True)"}, "module:factory()"),
    ({"wsgi_deploy_app": "main:app\n"}, "wsgi_deploy_app must be module:callable"),
    ({"wsgi_deploy_bind": "8000"}, "wsgi_deploy_bind must be host:port"),
    ({"wsgi_deploy_bind": "127.0.0.1:99999"}, "wsgi_deploy_bind must be host:port"),
    ({"wsgi_deploy_bind": "127.0.0.1:0"}, "wsgi_deploy_bind must be host:port"),
    ({"wsgi_deploy_bind": '127.0.0.1:8000" + __import__("os").system("id") + "'}, "wsgi_deploy_bind must be host:port"),
    ({"wsgi_deploy_workers": "two"}, "wsgi_deploy_workers must be a whole number from 1 to 512, not \"two\"."),
    ({"wsgi_deploy_workers": 0}, "wsgi_deploy_workers must be a whole number from 1 to 512, not 0."),
    ({"wsgi_deploy_healthcheck_status": 600}, "wsgi_deploy_healthcheck_status must be a whole number from 100"),
    ({"wsgi_deploy_max_request_seconds": 0}, "wsgi_deploy_max_request_seconds must be a whole number from 1"),
    ({"wsgi_deploy_name": "Bad Name"}, "wsgi_deploy_name must be a short lowercase name"),
    ({"wsgi_deploy_user": "Bad User"}, "wsgi_deploy_user must be a valid user name, not \"Bad User\"."),
    ({"wsgi_deploy_python": "python3"}, "wsgi_deploy_python must be an absolute path"),
    ({"wsgi_deploy_requirements": "missing.txt"}, "is not a file"),
    ({"wsgi_deploy_requirements": "/etc/hostname"}, "must be a file inside wsgi_deploy_src, given relative to it"),
    ({"wsgi_deploy_requirements": "../../../../../../../../etc/hostname"},
     "leads out of wsgi_deploy_src (to /etc/hostname): the release holds the source only"),
    ({"wsgi_deploy_exclude": "*.log"}, "wsgi_deploy_exclude must be a list of rsync patterns (strings)"),
    ({"wsgi_deploy_ship_env_files": ["../secrets.env"]}, "wsgi_deploy_ship_env_files must be a list of paths relative"),
    ({"wsgi_deploy_ship_env_files": ".env"}, "wsgi_deploy_ship_env_files must be a list of paths relative"),
    ({"wsgi_deploy_reload_method": "chain"}, "wsgi_deploy_reload_method must be one of hup, usr2, ttin for gunicorn"),
    ({"wsgi_deploy_server": "uwsgi", "wsgi_deploy_reload_method": "usr2"},
     "wsgi_deploy_reload_method must be one of chain, fifo, full, workers for uwsgi (or empty for chain)"),
    ({"wsgi_deploy_shared_dirs": ["../elsewhere"]}, "must be a path inside the app"),
    ({"wsgi_deploy_shared_files": "/etc/app.env"}, "must be a path inside the app"),
    ({"wsgi_deploy_release_writable_dirs": [".wsgi-deploy-env"]}, "must be a path inside the app"),
    # Inputs that would damage the host: root would hand /var/log and /run to the app's user, and
    # a root or bind with quotes or a newline would become code or a unit line run as root.
    ({"wsgi_deploy_root": "/var"}, "wsgi_deploy_root must be an absolute path of plain names"),
    ({"wsgi_deploy_root": "/var/log"}, "not a system directory"),
    ({"wsgi_deploy_root": "/etc/shop"}, "not a system directory"),
    ({"wsgi_deploy_root": "/."}, "wsgi_deploy_root must be an absolute path of plain names"),
    ({"wsgi_deploy_root": "//srv/shop"}, "wsgi_deploy_root must be an absolute path of plain names"),
    ({"wsgi_deploy_root": "/srv/../etc"}, "wsgi_deploy_root must be an absolute path of plain names"),
    ({"wsgi_deploy_root": "/srv/my shop"}, "wsgi_deploy_root must be an absolute path of plain names"),
    ({"wsgi_deploy_root": "/srv/shop\n"}, "wsgi_deploy_root must be an absolute path of plain names"),
    ({"wsgi_deploy_root": "/srv/shop\nExecStartPre=+/bin/sh -c id"}, "wsgi_deploy_root must be an absolute path"),
    ({"wsgi_deploy_user": "root", "wsgi_deploy_service_manager": "systemd"}, "wsgi_deploy_user must not be root"),
    ({"wsgi_deploy_shared_dirs": ["."]}, "of plain names"),
    ({"wsgi_deploy_shared_dirs": ["uploads", "uploads/"]}, "overlap: give each once, and neither inside another"),
    ({"wsgi_deploy_shared_dirs": ["media"], "wsgi_deploy_shared_files": ["media/index.db"]},
     "overlap: give each once, and neither inside another"),
    ({"wsgi_deploy_shared_files": ["main.py"]}, "exists in wsgi_deploy_src: the release would replace it"),
    ({"wsgi_deploy_shared_dirs": ["main.py"]}, "is a file in wsgi_deploy_src; a shared directory would replace it"),
    ({"wsgi_deploy_before_reload_tasks": "/nonexistent/migrate.yml"},
     "wsgi_deploy_before_reload_tasks must name a tasks file on the controller"),
    ({"wsgi_deploy_after_live_tasks": ["hook.yml"]}, "wsgi_deploy_after_live_tasks must name a tasks file"),
    ({"wsgi_deploy_server_settings": {"workers": 4}},
     "wsgi_deploy_server_settings: workers cannot be set here; set wsgi_deploy_workers."),
    ({"wsgi_deploy_server": "uwsgi", "wsgi_deploy_server_settings": {"lazy-apps": False}},
     "wsgi_deploy_server_settings: lazy-apps cannot be set here; the role sets it"),
    ({"wsgi_deploy_server": "uwsgi", "wsgi_deploy_server_settings": {"buffer_size": 8192}},
     "is not a uwsgi setting's name (uWSGI's ini names, as buffer-size)"),
    ({"wsgi_deploy_server_settings": {"accesslog": "-\nbind = '0.0.0.0:80'"}},
     "wsgi_deploy_server_settings: the value of accesslog holds a line break"),
    ({"wsgi_deploy_env": {"1BAD": "x"}}, "wsgi_deploy_env: '1BAD' is not a variable name"),
    ({"wsgi_deploy_worker_class": "gevent; import os"}, "wsgi_deploy_worker_class must be a gunicorn worker class"),
    ({"wsgi_deploy_server": "uwsgi", "wsgi_deploy_worker_class": "asgi"},
     "wsgi_deploy_worker_class is for gunicorn: uWSGI serves WSGI apps only"),
    ({"wsgi_deploy_manage_server": False}, "wsgi_deploy_dest must be the absolute path the server imports the app from"),
    ({"wsgi_deploy_manage_server": False, "wsgi_deploy_dest": "/tmp"}, "set wsgi_deploy_pidfile to its absolute path"),
    ({"wsgi_deploy_manage_server": False, "wsgi_deploy_dest": "/srv/a", "wsgi_deploy_server": "uwsgi"},
     "set wsgi_deploy_reload_file to that absolute path"),
    ({"wsgi_deploy_manage_server": False, "wsgi_deploy_dest": "/srv/a", "wsgi_deploy_pidfile": "/srv/a/pid",
      "wsgi_deploy_log_file": "log"}, "wsgi_deploy_log_file must be an absolute path, not \"log\"."),
    ({"wsgi_deploy_manage_server": False, "wsgi_deploy_dest": "/srv/a", "wsgi_deploy_pidfile": "/srv/a/pid",
      "wsgi_deploy_env": {"A": "1"}}, "need a role-managed server (wsgi_deploy_manage_server true)"),
    ({"wsgi_deploy_manage_server": False, "wsgi_deploy_dest": "/srv/a", "wsgi_deploy_pidfile": "/srv/a/pid",
      "wsgi_deploy_worker_class": "sync"}, "a server set up by hand takes them in its own config"),
    ({"wsgi_deploy_release_commands": [["python", 3]]}, "wsgi_deploy_release_commands must be a list of commands"),
    ({"wsgi_deploy_release_commands": ["python manage.py migrate"]},
     "wsgi_deploy_release_commands must be a list of commands"),
    ({"wsgi_deploy_release_commands_once": [[]]}, "wsgi_deploy_release_commands_once must be a list of commands"),
    ({"wsgi_deploy_fleet_rollback": True, "wsgi_deploy_keep_releases": 1},
     "wsgi_deploy_fleet_rollback needs wsgi_deploy_keep_releases of 2 or more"),
    ({"wsgi_deploy_release_id": "yesterday"}, "wsgi_deploy_release_id must be a UTC time as the role names releases"),
    ({"wsgi_deploy_release_id": "20261203T234500123456Z\n"}, "wsgi_deploy_release_id must be a UTC time"),
    ({"wsgi_deploy_haproxy_host": "lb9", "wsgi_deploy_haproxy_backend": "app"},
     "wsgi_deploy_haproxy_host lb9 is no host of the inventory"),
    ({"wsgi_deploy_haproxy_host": "localhost"}, "localhost is the haproxy host (wsgi_deploy_haproxy_host), not an app's"),
    ({"wsgi_deploy_haproxy_host": "lb"}, "wsgi_deploy_haproxy_backend must name the haproxy backend"),
    ({"wsgi_deploy_server": "uvicorn", "wsgi_deploy_workers": 1}, "wsgi_deploy_workers must be 2 or more with uvicorn"),
    ({"wsgi_deploy_server": "uvicorn", "wsgi_deploy_worker_class": "asgi"},
     "wsgi_deploy_worker_class is for gunicorn: uvicorn serves an ASGI app as it is"),
    ({"wsgi_deploy_server": "uvicorn", "wsgi_deploy_server_settings": {"limit-concurrency": 5}},
     "wsgi_deploy_server_settings is for gunicorn and uWSGI"),
    ({"wsgi_deploy_server": "uvicorn", "wsgi_deploy_reload_method": "ttin"},
     "wsgi_deploy_reload_method must be one of hup for uvicorn"),
    ({"wsgi_deploy_manage_server": False, "wsgi_deploy_dest": "/srv/a", "wsgi_deploy_server": "uvicorn"},
     "set wsgi_deploy_pidfile to the absolute path of the file its starter writes it to"),
    ({"wsgi_deploy_server": "granian", "wsgi_deploy_workers": 1}, "wsgi_deploy_workers must be 2 or more with Granian"),
    ({"wsgi_deploy_server": "granian", "wsgi_deploy_worker_class": "asgi"},
     "Granian serves an ASGI app with wsgi_deploy_granian_interface asgi"),
    ({"wsgi_deploy_server": "granian", "wsgi_deploy_server_settings": {"backpressure": 5}},
     "the role sets Granian's command line"),
    ({"wsgi_deploy_manage_server": False, "wsgi_deploy_dest": "/srv/a", "wsgi_deploy_server": "granian"},
     "set wsgi_deploy_pidfile to the absolute path of its --pid-file"),
]


@pytest.mark.parametrize("bad,says", CASES, ids=[repr(sorted(case[0].items())) for case in CASES])
def test_bad_input_is_refused_with_what_to_set(src, bad, says):
    found = check(src, bad, hosts=("localhost", "lb"))
    assert any(says in problem for problem in found), found


GOOD = [
    {"wsgi_deploy_bind": "localhost:8000"},
    {"wsgi_deploy_bind": "[::1]:8000"},
    {"wsgi_deploy_bind": "0.0.0.0:65535"},
    {"wsgi_deploy_app": "flaskr:create_app()"},
    {"wsgi_deploy_app": "shop.wsgi:application"},
    {"wsgi_deploy_server": "uwsgi", "wsgi_deploy_reload_method": "fifo"},
    {"wsgi_deploy_workers": "4"},
    {"wsgi_deploy_user": "root", "wsgi_deploy_service_manager": "none"},
    {"wsgi_deploy_shared_dirs": ["media/"], "wsgi_deploy_shared_files": [".env"]},
    {"wsgi_deploy_release_commands_once": [["python", "manage.py", "migrate"]], "wsgi_deploy_env": {"A": "1"}},
    {"wsgi_deploy_release_id": "20261203T234500123456Z", "wsgi_deploy_fleet_rollback": "yes"},
    {"wsgi_deploy_haproxy_host": "lb", "wsgi_deploy_haproxy_backend": "shop"},
    {"wsgi_deploy_manage_server": False, "wsgi_deploy_dest": "/srv/a", "wsgi_deploy_pidfile": "/srv/a/pid"},
    {"wsgi_deploy_manage_server": False, "wsgi_deploy_dest": "/srv/a", "wsgi_deploy_server": "uwsgi",
     "wsgi_deploy_reload_file": "/srv/a/reload"},
    {"wsgi_deploy_server": "uvicorn", "wsgi_deploy_workers": 2},
    {"wsgi_deploy_manage_server": False, "wsgi_deploy_dest": "/srv/a", "wsgi_deploy_server": "uvicorn",
     "wsgi_deploy_pidfile": "/srv/a/pid"},
    {"wsgi_deploy_manage_server": False, "wsgi_deploy_dest": "/srv/a", "wsgi_deploy_server": "granian",
     "wsgi_deploy_pidfile": "/srv/a/pid"},
    {"wsgi_deploy_server": "granian", "wsgi_deploy_granian_interface": "asgi"},
]


@pytest.mark.parametrize("given", GOOD, ids=[repr(sorted(case.items())) for case in GOOD])
def test_good_input_passes(src, given):
    assert check(src, given, hosts=("localhost", "lb")) == []


def test_every_problem_is_named_at_once(src):
    found = check(src, {"wsgi_deploy_workers": 0, "wsgi_deploy_bind": "8000", "wsgi_deploy_name": "Bad",
                       "wsgi_deploy_user": "shop"})
    assert len(found) == 3, found


def test_an_environment_value_is_never_quoted(src):
    found = check(src, {"wsgi_deploy_env": {"TOKEN": "s3cret\nvalue"}})
    assert found and not any("s3cret" in problem for problem in found)


def test_a_hook_relative_to_the_playbook_is_found(src, tmp_path):
    (tmp_path / "hooks").mkdir()
    (tmp_path / "hooks" / "migrate.yml").write_text("[]\n")
    given = {"wsgi_deploy_before_reload_tasks": "hooks/migrate.yml"}
    assert check(src, given, playbook_dir=str(tmp_path)) == []
    assert check(src, given, playbook_dir=str(src)) != []


def test_a_requirements_link_out_of_the_source_is_refused(src, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("flask\n")
    (src / "linked.txt").symlink_to(outside)
    found = check(src, {"wsgi_deploy_requirements": "linked.txt"})
    assert any("leads out of wsgi_deploy_src" in problem for problem in found), found


def test_a_shared_file_that_git_ignores_may_exist_in_the_source(src):
    subprocess.run(["git", "init", "-q", str(src)], check=True)
    (src / ".gitignore").write_text("app.db\n")
    (src / "app.db").write_text("local\n")
    assert check(src, {"wsgi_deploy_shared_files": ["app.db"]}) == []
    assert check(src, {"wsgi_deploy_shared_files": ["app.db"], "wsgi_deploy_leave_gitignored": False}) != []


def test_a_controller_without_rsync_is_told_so(src, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    found = check(src, {})
    assert found == ["rsync is not installed on the controller (this machine), which ships the code with it: "
                     "install it (Debian - apt-get install rsync; macOS - brew install rsync)."]


# What the argument specs refuse before Validate runs: Ansible's own validator, as the role runs it.
SPEC_CASES = [
    ({"wsgi_deploy_server": "nginx"}, "value of wsgi_deploy_server must be one of: gunicorn, uwsgi, uvicorn, granian, got: nginx"),
    ({"wsgi_deploy_workers": "two"}, "wsgi_deploy_workers"),
    ({"wsgi_deploy_threads": "2.5"}, "wsgi_deploy_threads"),
    ({"wsgi_deploy_delete": "yes"}, "value of wsgi_deploy_delete must be one of: auto, always, never, got: yes"),
    ({"wsgi_deploy_drain": "sometimes"}, "wsgi_deploy_drain"),
    ({}, "missing required arguments: wsgi_deploy_src"),
]


@pytest.mark.parametrize("bad,says", SPEC_CASES, ids=[repr(sorted(case[0].items())) for case in SPEC_CASES])
def test_the_argument_specs_refuse_what_is_not_of_its_type_or_choices(bad, says):
    given = dict({"wsgi_deploy_src": "/srv/src"} if bad else {}, **bad)
    errors = ArgumentSpecValidator(MAIN).validate(given).error_messages
    assert any(says in error for error in errors), errors


def test_the_argument_specs_take_the_defaults():
    assert ArgumentSpecValidator(MAIN).validate({"wsgi_deploy_src": "/srv/src"}).error_messages == []
