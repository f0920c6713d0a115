"""wsgi_deploy_max_request_seconds: a reload lets shorter requests finish and no longer ones."""
import os
import threading
import time

import pytest

from helpers import result_of, set_version
from testservers import free_port  # noqa: F401  (the deploy fixture's ports)

CONFIG = {"gunicorn": ("gunicorn.conf.py", "graceful_timeout = %d"),
          "uwsgi": ("uwsgi.ini", "worker-reload-mercy = %d")}


def deploy_during(app, seconds, **extra):
    """Deploy version 2 while one request of `seconds` runs; return its status and the result."""
    import urllib.error
    import urllib.request
    answer = {}

    def request():
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/slow?s=%d" % (app.port, seconds),
                                        timeout=seconds + 60) as response:
                answer["status"] = response.status
        except (urllib.error.URLError, ConnectionError) as exc:
            answer["status"] = type(exc).__name__
    slow = threading.Thread(target=request)
    slow.start()
    time.sleep(1)
    set_version(app, "2")
    result = result_of(app.run(check=True, **extra))
    slow.join(seconds + 60)
    return answer["status"], result


@pytest.mark.parametrize("server", ["gunicorn", "uwsgi"])
def test_a_request_shorter_than_the_limit_finishes_and_a_longer_one_does_not(deploy, server):
    app = deploy(server)
    app.run(check=True, wsgi_deploy_max_request_seconds=12)
    name, line = CONFIG[server]
    assert line % 17 in open(os.path.join(app.root, "etc", name)).read()

    status, result = deploy_during(app, 8, wsgi_deploy_max_request_seconds=12)
    assert status == 200 and result["reloaded"] is True

    # The same request against a 1 s limit (6 s of mercy) is cut off by the reload.
    app.run(check=True, wsgi_deploy_max_request_seconds=1)
    set_version(app, "3")
    status, result = deploy_during(app, 12, wsgi_deploy_max_request_seconds=1)
    assert status != 200 and result["reloaded"] is True
