"""Each reload method chosen by wsgi_deploy_reload_method, on a role-managed server."""
import pytest

from helpers import get, result_of, set_version


@pytest.mark.parametrize("server, method", [("gunicorn", "usr2"), ("uwsgi", "fifo"), ("uwsgi", "workers")])
def test_the_chosen_method_reloads_onto_the_new_code(deploy, server, method):
    app = deploy(server)
    app.run(check=True, wsgi_deploy_reload_method=method)
    set_version(app, "2")
    result = result_of(app.run(check=True, wsgi_deploy_reload_method=method))
    assert result["reloaded"] is True and result["method"] == method
    assert len(result["new_pids"]) == 2 and not set(result["new_pids"]) & set(result["old_pids"])
    assert get(app.port) == "hello v2"



ENV_ROUTE = '''

import os as _os


@app.route("/env/<name>")
def env(name):
    return _os.environ.get(name, "<unset>")
'''


def test_ttin_brings_the_new_release_and_its_environment_into_the_same_master(deploy):
    app = deploy("gunicorn")
    with open(app.src + "/main.py", "a") as handle:
        handle.write(ENV_ROUTE)
    ttin = {"wsgi_deploy_reload_method": "ttin"}
    app.run(check=True, wsgi_deploy_env={"GREETING": "before", "DROPPED": "x"}, **ttin)
    master = int(open(app.pidfile).read())

    # New workers are forked from the master, which read the environment at its start: each reads
    # the release's own before it imports the app, and a variable the release dropped is gone.
    set_version(app, "2")
    result = result_of(app.run(check=True, wsgi_deploy_env={"GREETING": "after"}, **ttin))
    assert result["method"] == "ttin" and result["master_pid"] == master
    assert not set(result["new_pids"]) & set(result["old_pids"]) and len(result["new_pids"]) == 2
    assert get(app.port) == "hello v2"
    assert (get(app.port, "/env/GREETING"), get(app.port, "/env/DROPPED")) == ("after", "<unset>")

    # A changed config is read by a new master only: ttin would keep the old one's.
    result = result_of(app.run(check=True, wsgi_deploy_env={"GREETING": "after"}, wsgi_deploy_threads=3, **ttin))
    assert result["method"] == "usr2" and result["master_pid"] != master
