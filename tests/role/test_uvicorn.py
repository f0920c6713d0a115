"""uvicorn as a role-managed server: its command line written by the role, its reload a SIGHUP that
replaces one worker at a time, a new virtualenv taken by its new workers, a failed release rolled
back, a restart. (The reload itself under a full-rate load, and uvicorn giving a restart up, are
tests/integration/test_reload_uvicorn.py's.)"""
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes
from helpers import assert_no_request_failed, failure_of, get, live, result_of, set_version, under_load
from test_releases import break_health
from testservers import add_dependency


def master_of(app):
    return int(open(app.pidfile).read())


def test_uvicorn_serves_reloads_onto_new_code_and_packages_rolls_back_and_restarts(deploy):
    app = deploy("uvicorn")
    first = result_of(app.run(check=True))
    assert first["method"] == "start" and get(app.port) == "hello v1"
    master = master_of(app)
    # The pidfile names the master, which the role's shell became: uvicorn with its workers.
    assert processes.is_server_process(master, "uvicorn") and len(processes.workers(master, "uvicorn")) == 2

    # New code and a new package, in a new virtualenv, under load: the same master's new workers run both.
    set_version(app, "2")
    add_dependency(app.src)
    with under_load(app) as load:
        second = result_of(app.run(check=True))
    assert_no_request_failed(load)
    assert second["method"] == "hup" and second["reloaded"] is True and second["master_pid"] == master
    assert not set(second["new_pids"]) & set(second["old_pids"])
    assert get(app.port) == "hello v2 with six 1.17.0"
    went_live = live(app)

    # A release that answers its health check with 500 is rolled back, by the same reload.
    set_version(app, "3")
    break_health(app.src)
    with under_load(app) as load:
        run = app.run(wsgi_deploy_healthcheck_path="/healthz")
    assert run.returncode != 0
    assert_no_request_failed(load)
    assert "Rolled back to release %s" % went_live in failure_of(run)
    assert live(app) == went_live and master_of(app) == master
    assert get(app.port) == "hello v2 with six 1.17.0"

    # The restart entry point starts a new master on the live release.
    app.run(playbook="restart.yml", check=True)
    assert master_of(app) != master and not processes.running(master)
    assert get(app.port) == "hello v2 with six 1.17.0"
