"""A method that the server's own config keeps from loading new code is refused up front."""
import os

import pytest

from testservers import Server
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.server_config import gunicorn_preload, parse_uwsgi_ini, uwsgi_lazy_apps, uwsgi_options
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import ReloadError, reload_server

REFUSALS = [
    ("uwsgi", {"lazy-apps": None}, "chain", "runs without lazy-apps"),
    ("uwsgi", {"binary-path": None}, "full", "without binary-path"),
    ("gunicorn", {"preload_app": True}, "hup", "runs with preload_app on"),
    ("gunicorn", {"preload_app": True}, "ttin", "runs with preload_app on: a ttin forks"),
    ("uwsgi", {"http-socket": None, "http": "PORT"}, "full", "through its http= router"),
]


@pytest.mark.parametrize("check_mode", [False, True])
@pytest.mark.parametrize("kind, extra, method, why", REFUSALS)
def test_a_method_the_config_defeats_is_refused_before_anything_happens(
        kind, extra, method, why, check_mode, tmp_path):
    srv = Server(kind, tmp_path, extra=dict(extra))
    srv.extra.update({key: "127.0.0.1:%d" % srv.port for key, value in extra.items() if value == "PORT"})
    srv.start()
    try:
        before = srv.worker_pids()
        log_size = os.path.getsize(srv.log_file)
        with pytest.raises(ReloadError, match=why):
            reload_server(srv.params(method=method), check_mode=check_mode)
        assert srv.worker_pids() == before
        assert not os.path.exists(srv.reload_file)
        with open(srv.log_file) as handle:
            handle.seek(log_size)
            assert "reload" not in handle.read().lower()
        assert srv.get("/") == (200, "hello v1")
    finally:
        srv.stop()


def test_ini_sections_comments_and_underscores():
    text = "[other]\nlazy-apps = true\n[uwsgi]\n; lazy-apps = true\n# x\nbinary_path = /v/bin/python\nlazy = 1\n"
    options = parse_uwsgi_ini(text)
    assert options == {"binary-path": "/v/bin/python", "lazy": "1"}
    assert uwsgi_lazy_apps(options) is True
    assert uwsgi_lazy_apps(parse_uwsgi_ini("[uwsgi]\nlazy-apps = false\n")) is False


def test_uwsgi_options_from_the_command_line_and_the_ini_it_names():
    files = {"/srv/a/uwsgi.ini": "[uwsgi]\nlazy-apps = true\n"}
    read = files.__getitem__
    assert uwsgi_options(["uwsgi", "--ini", "uwsgi.ini"], "/srv/a", read)["lazy-apps"] == "true"
    assert uwsgi_options(["uwsgi", "--ini=/srv/a/uwsgi.ini"], "/", read)["lazy-apps"] == "true"
    assert uwsgi_options(["uwsgi", "uwsgi.ini"], "/srv/a", read)["lazy-apps"] == "true"
    flags = uwsgi_options(["uwsgi", "--lazy-apps", "--binary-path", "/v/py", "--http=:1"], "/", read)
    assert flags == {"lazy-apps": "true", "binary-path": "/v/py", "http": ":1"}


def test_gunicorn_preload_from_flags_environment_and_config():
    conf = {"/app/conf.py": "workers = 2\npreload_app = True\n",
            "/app/off.py": "preload_app = False\n",
            "/app/gunicorn.conf.py": "workers = 1\n"}

    def read(path):
        if path not in conf:
            raise FileNotFoundError(path)
        return conf[path]

    assert gunicorn_preload(["gunicorn", "--preload", "m:app"], "/", {}, read) is True
    assert gunicorn_preload(["gunicorn", "m:app"], "/", {"GUNICORN_CMD_ARGS": "--preload"}, read) is True
    assert gunicorn_preload(["gunicorn", "-c", "conf.py"], "/app", {}, read) is True
    assert gunicorn_preload(["gunicorn", "--config=/app/off.py"], "/", {}, read) is False
    assert gunicorn_preload(["gunicorn", "m:app"], "/app", {}, read) is False
    assert gunicorn_preload(["gunicorn", "-c", "/gone.py"], "/", {}, read) is None
