"""An ASGI app (FastAPI) under gunicorn's ASGI worker classes: its own `asgi` and uvicorn's.
A reload by TTIN (the default) and by USR2 ends when the new workers serve, and fails no request
under load."""
import json
import os
import shutil
import signal
import socket
import time

import pytest

from helpers import failure_of, get, result_of
from httpload import Load

# FastAPI's own first example (its tutorial's "First Steps"), with a version to see deploys land.
FASTAPI_APP = '''from fastapi import FastAPI

VERSION = "{version}"

app = FastAPI()


@app.get("/")
async def root():
    return {{"message": "Hello World", "version": VERSION}}
'''
REQUIREMENTS = "fastapi==0.165.0\nuvicorn-worker==0.4.0\nuvicorn==0.54.0\n"


def fastapi_app(app, version):
    shutil.rmtree(app.src)
    os.makedirs(app.src)
    with open(os.path.join(app.src, "main.py"), "w") as handle:
        handle.write(FASTAPI_APP.format(version=version))
    with open(os.path.join(app.src, "requirements.txt"), "w") as handle:
        handle.write(REQUIREMENTS)


UVICORN = "uvicorn_worker.UvicornWorker"


# Each worker class and each method once: what a method does to the master and its workers is
# the same for any worker class (tests/integration/test_reload_methods.py); what differs is how
# each class's worker stops and starts, which either method exercises.
@pytest.mark.parametrize("worker_class, method", [("asgi", "ttin"), (UVICORN, "usr2")])
def test_an_asgi_app_is_reloaded_under_load_without_a_failed_request(deploy, worker_class, method):
    app = deploy("gunicorn")
    fastapi_app(app, "1")
    setup = {"wsgi_deploy_worker_class": worker_class, "wsgi_deploy_reload_method": method,
             "wsgi_deploy_requirements": "requirements.txt", "wsgi_deploy_healthcheck_text": "Hello World"}
    app.run(check=True, **setup)
    assert '"version":"1"' in get(app.port)

    fastapi_app(app, "2")
    # At the full rate, as the reload methods are proven: how a worker class ends its requests in
    # flight is proven here alone.
    with Load("http://127.0.0.1:%d/" % app.port, clients=4, max_seconds=120) as load:
        result = result_of(app.run(check=True, **setup))
    report = load.report()

    assert result["reloaded"] is True and result["method"] == method
    assert len(result["new_pids"]) == 2 and not set(result["new_pids"]) & set(result["old_pids"])
    assert '"version":"2"' in get(app.port)
    assert report["failed"] == 0 and report["ok"] > 0, json.dumps(report)


def test_a_stopping_uvicorn_worker_answers_a_connection_it_accepted_before_the_request_came(deploy):
    """uvicorn alone closes such a connection unanswered (its issue 2757): under a reload, the
    client that sent its request just then gets a reset. Here the request comes 0.3 s after
    every worker was told to stop, as gunicorn tells the old workers at a HUP."""
    app = deploy("gunicorn")
    fastapi_app(app, "1")
    app.run(check=True, wsgi_deploy_worker_class=UVICORN, wsgi_deploy_requirements="requirements.txt",
            wsgi_deploy_healthcheck_text="Hello World")
    master = int(open(app.pidfile).read())
    with open("/proc/%d/task/%d/children" % (master, master)) as handle:
        workers = [int(pid) for pid in handle.read().split()]

    with socket.create_connection(("127.0.0.1", app.port), timeout=10) as client:
        time.sleep(0.3)  # the connection is accepted by a worker, which has read nothing yet
        for pid in workers:
            os.kill(pid, signal.SIGTERM)
        time.sleep(0.3)
        client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        while True:
            try:
                chunk = client.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            answer += chunk

    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert b'"version":"1"' in answer


def test_an_asgi_app_under_the_default_wsgi_worker_fails_at_once_and_is_not_left_serving(deploy):
    app = deploy("gunicorn")
    fastapi_app(app, "1")

    run = app.run(wsgi_deploy_requirements="requirements.txt", wsgi_deploy_healthcheck_timeout=120)

    message = failure_of(run)
    assert run.returncode != 0 and "500" in message
    assert "wsgi_deploy_worker_class" in message
    assert not os.path.exists(app.pidfile)
