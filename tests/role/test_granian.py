"""Granian as a role-managed server: its command line written by the role, its respawn interval set
from the app's measured start, its reload a SIGHUP that replaces one worker at a time, a new
virtualenv taken by a restart (its workers are forked from its master), a failed release rolled
back, a restart. (When each worker served during the reload is tests/integration/test_reload_granian.py's.)"""
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import plan, processes
from helpers import failure_of, get, live, result_of, set_version
from test_releases import break_health
from testservers import add_dependency, slow_import

IMPORT_SECONDS = 1.0


def master_of(app):
    return int(open(app.pidfile).read())


def respawn_interval_of(master):
    with open("/proc/%d/environ" % master, "rb") as handle:
        env = dict(item.split(b"=", 1) for item in handle.read().split(b"\0") if b"=" in item)
    return float(env[b"GRANIAN_RESPAWN_INTERVAL"])


def test_granian_serves_reloads_onto_new_code_restarts_for_packages_and_rolls_back(deploy):
    app = deploy("granian")
    slow_import(app.src, IMPORT_SECONDS)
    first = result_of(app.run(check=True))
    assert first["method"] == "start" and get(app.port) == "hello v1"
    master = master_of(app)
    # The pidfile names the master, which the role's shell became: Granian with its workers.
    assert processes.is_server_process(master, "granian") and len(processes.workers(master, "granian")) == 2
    # Each old worker outlives its successor's import, measured by the import check, with room.
    assert respawn_interval_of(master) >= plan.respawn_interval(IMPORT_SECONDS)

    # New code: the same master replaces its workers one at a time. (Not under load: Granian 2.8.9
    # closes a connection now and then that a stopping worker had accepted; README, Figures.)
    set_version(app, "2")
    second = result_of(app.run(check=True))
    assert second["method"] == "hup" and second["reloaded"] is True and second["master_pid"] == master
    assert not set(second["new_pids"]) & set(second["old_pids"])
    assert get(app.port) == "hello v2"

    # A new package means a new virtualenv, which a new master takes: a restart.
    add_dependency(app.src)
    third = result_of(app.run(check=True))
    assert third["method"] == "restart" and master_of(app) != master
    assert get(app.port) == "hello v2 with six 1.17.0"
    master, went_live = master_of(app), live(app)

    # A release that answers its health check with 500 is rolled back, by the same reload.
    set_version(app, "3")
    break_health(app.src)
    run = app.run(wsgi_deploy_healthcheck_path="/healthz")
    assert run.returncode != 0
    assert "Rolled back to release %s" % went_live in failure_of(run)
    assert live(app) == went_live and master_of(app) == master
    assert get(app.port) == "hello v2 with six 1.17.0"

    # The restart entry point starts a new master on the live release, with the interval measured before.
    interval = respawn_interval_of(master)
    app.run(playbook="restart.yml", check=True)
    assert master_of(app) != master and not processes.running(master)
    assert respawn_interval_of(master_of(app)) == interval
    assert get(app.port) == "hello v2 with six 1.17.0"
