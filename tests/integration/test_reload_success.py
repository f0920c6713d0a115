"""A graceful reload against real servers: new code live, every worker new, master kept."""
import os
import time

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes
from httpload import Load
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import reload_server
from testservers import Server, set_version


def test_reload_serves_the_new_code_from_new_workers_under_the_same_master(server):
    before = server.worker_pids()
    set_version(server.app_dir, "2")

    facts = reload_server(server.params())

    assert facts["reloaded"] is True and facts["changed"] is True
    assert facts["method"] == {"gunicorn": "hup", "uwsgi": "chain"}[server.kind]
    assert facts["master_pid"] == server.proc.pid and server.proc.poll() is None
    assert len(facts["old_pids"]) == server.workers
    assert set(facts["old_pids"]) <= set(before)
    assert len(facts["new_pids"]) == server.workers
    assert not set(facts["new_pids"]) & set(before)
    assert set(facts["new_pids"]) <= set(server.worker_pids())
    assert not any(processes.running(pid) for pid in facts["old_pids"])
    assert facts["duration_s"] > 0
    assert facts["log_lines"], "the lines logged during the reload are reported"
    assert server.get("/") == (200, "hello v2")


def test_check_mode_twin_reports_the_reload_and_leaves_the_server_alone(server):
    before = server.worker_pids()
    set_version(server.app_dir, "2")
    log_size = os.path.getsize(server.log_file)

    facts = reload_server(server.params(), check_mode=True)

    assert facts["changed"] is True and facts["reloaded"] is False
    assert facts["master_pid"] == server.proc.pid
    assert facts["old_pids"] == before
    time.sleep(2.5)  # longer than uWSGI's touch poll, so a reload would have begun
    assert server.worker_pids() == before
    assert not os.path.exists(server.reload_file)
    assert "hup" not in _log_since(server.log_file, log_size).lower()
    assert server.get("/") == (200, "hello v1")


def _log_since(path, offset):
    with open(path) as handle:
        handle.seek(offset)
        return handle.read()


def test_uwsgi_http_router_is_left_running_and_not_counted_as_a_worker(tmp_path):
    srv = Server("uwsgi", tmp_path, extra={"http-socket": None,
                                           "http": "127.0.0.1:%d" % 0})
    srv.extra["http"] = "127.0.0.1:%d" % srv.port
    srv.start()
    try:
        children = srv.worker_pids()
        assert len(children) == srv.workers + 1  # the router is a child too
        facts = reload_server(srv.params())
        router = set(children) - set(facts["old_pids"])
        assert len(router) == 1 and router <= set(srv.worker_pids())
        assert len(facts["new_pids"]) == srv.workers
    finally:
        srv.stop()


@pytest.mark.parametrize("kind", ["gunicorn", "uwsgi"])
def test_a_10s_request_in_flight_finishes_with_200_and_the_old_body(kind, tmp_path):
    # The seed's own uWSGI shape: 4 workers with 2 threads each.
    srv = Server(kind, tmp_path, workers=4, threads=2).start()
    try:
        in_flight, facts = srv.reload_with_request_in_flight(10)
        assert in_flight == (200, "slow done v1")
        assert facts["reloaded"] and len(facts["new_pids"]) == 4
        assert srv.get("/") == (200, "hello v2")
    finally:
        srv.stop()


def test_reload_under_load_fails_no_request(server):
    set_version(server.app_dir, "2")
    with Load(server.url + "/", clients=4, max_seconds=120) as load:
        time.sleep(1.0)
        facts = reload_server(server.params())
        time.sleep(1.0)
    report = load.report()
    assert facts["reloaded"] is True
    assert report["failed"] == 0, report
    assert report["ok"] > 100, report
    assert report["bodies"].get("hello v2", 0) > 0, report


def test_gunicorn_waits_for_a_changed_worker_count(gunicorn):
    with open(os.path.join(gunicorn.base, "gunicorn.conf.py"), "a") as handle:
        handle.write("workers = 3\n")

    facts = reload_server(gunicorn.params(expected_workers=3))

    assert len(facts["new_pids"]) == 3 == len(processes.children(gunicorn.proc.pid))
