"""wsgi_deploy_server_settings: what the role does not name reaches the server; a name the server
does not know stops the deploy before the switch, the live release still serving."""
import os
import urllib.request

import pytest

from helpers import failure_of, get, live, set_version

SETTINGS = {
    "gunicorn": ({"accesslog": "ACCESS_LOG", "max_requests": 1000}, {"max_request": 10},
                 "not gunicorn settings: max_request"),
    "uwsgi": ({"add-header": ["X-Served-By: wsgi-deploy", "X-Second: two"], "buffer-size": 8192}, {"harakri": 30},
              "not uWSGI options: harakri"),
}


def headers(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=10) as response:
        return response.headers


@pytest.mark.parametrize("server", ["gunicorn", "uwsgi"])
def test_extra_settings_reach_the_server_and_an_unknown_one_stops_before_the_switch(deploy, server):
    app = deploy(server)
    settings, unknown, says = SETTINGS[server]
    access_log = os.path.join(app.root, "log", "access.log")
    if server == "gunicorn":
        settings = dict(settings, accesslog=access_log)
    app.run(check=True, wsgi_deploy_server_settings=settings)
    assert get(app.port) == "hello v1"
    if server == "gunicorn":
        with open(access_log) as handle:
            assert '"GET / HTTP/1.1" 200' in handle.read()
    else:
        seen = headers(app.port)
        assert seen["X-Served-By"] == "wsgi-deploy" and seen["X-Second"] == "two"

    before = live(app)
    set_version(app, "2")
    failed = app.run(wsgi_deploy_server_settings=dict(settings, **unknown))
    assert failed.returncode != 0
    assert says in failure_of(failed)
    assert live(app) == before and get(app.port) == "hello v1"
