"""An ASGI app (FastAPI) under gunicorn's ASGI worker classes: its own `asgi` and uvicorn's.
A reload by HUP and by USR2 ends when the new workers serve; under load, gunicorn's own worker
fails no request. (uvicorn's worker resets a connection it accepted just as it stops, now and
then: README, "ASGI apps".)"""
import json
import os
import shutil

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


@pytest.mark.parametrize("worker_class, method", [("asgi", "hup"), ("asgi", "usr2")])
def test_an_asgi_app_is_reloaded_under_load_without_a_failed_request(deploy, worker_class, method):
    app = deploy("gunicorn")
    fastapi_app(app, "1")
    setup = {"wsgi_deploy_worker_class": worker_class, "wsgi_deploy_reload_method": method,
             "wsgi_deploy_requirements": "requirements.txt", "wsgi_deploy_healthcheck_text": "Hello World"}
    app.run(check=True, **setup)
    assert '"version":"1"' in get(app.port)

    fastapi_app(app, "2")
    with Load("http://127.0.0.1:%d/" % app.port, clients=4, max_seconds=120) as load:
        result = result_of(app.run(check=True, **setup))
    report = load.report()

    assert result["reloaded"] is True and result["method"] == method
    assert len(result["new_pids"]) == 2 and not set(result["new_pids"]) & set(result["old_pids"])
    assert '"version":"2"' in get(app.port)
    assert report["failed"] == 0 and report["ok"] > 0, json.dumps(report)


@pytest.mark.parametrize("method", ["hup", "usr2"])
def test_uvicorns_worker_is_reloaded_onto_the_new_code(deploy, method):
    app = deploy("gunicorn")
    fastapi_app(app, "1")
    setup = {"wsgi_deploy_worker_class": "uvicorn_worker.UvicornWorker", "wsgi_deploy_reload_method": method,
             "wsgi_deploy_requirements": "requirements.txt", "wsgi_deploy_healthcheck_text": "Hello World"}
    app.run(check=True, **setup)

    fastapi_app(app, "2")
    result = result_of(app.run(check=True, **setup))

    assert result["reloaded"] is True and result["method"] == method
    assert len(result["new_pids"]) == 2 and not set(result["new_pids"]) & set(result["old_pids"])
    assert '"version":"2"' in get(app.port)


def test_an_asgi_app_under_the_default_wsgi_worker_fails_at_once_and_is_not_left_serving(deploy):
    app = deploy("gunicorn")
    fastapi_app(app, "1")

    run = app.run(wsgi_deploy_requirements="requirements.txt", wsgi_deploy_healthcheck_timeout=120)

    message = failure_of(run)
    assert run.returncode != 0 and "500" in message
    assert "wsgi_deploy_worker_class" in message
    assert not os.path.exists(app.pidfile)
