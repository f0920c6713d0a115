"""uWSGI's chain reload, the role's default for uWSGI, for an app whose import takes seconds: one
worker at a time is replaced, and the next old one goes only once the new one has loaded the app.
No request waits for the import, and the other workers serve throughout."""
import time

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import reload_server
from httpload import Load
from testservers import Server, ServingTimeline, set_version, slow_import

IMPORT_SECONDS = 5


@pytest.fixture
def slow_uwsgi(tmp_path):
    server = Server("uwsgi", tmp_path)
    slow_import(server.app_dir, IMPORT_SECONDS)
    try:
        yield server.start()
    finally:
        server.stop()


def test_a_chain_reload_keeps_all_but_one_worker_serving_and_fails_no_request(slow_uwsgi):
    srv = slow_uwsgi
    old = srv.worker_pids()
    set_version(srv.app_dir, "2")
    timeline = ServingTimeline(srv)
    timeline.start()
    with Load(srv.url + "/", clients=4, max_seconds=120) as load:
        time.sleep(0.5)
        facts = reload_server(srv.params(method="chain"))
        time.sleep(0.5)
    timeline.stop()
    report = load.report()

    assert report["failed"] == 0 and report["ok"] > 0, report
    assert facts["method"] == "chain" and facts["master_pid"] == srv.proc.pid
    new = srv.worker_pids()
    assert len(new) == srv.workers and not set(new) & set(old)
    # Each new worker loaded the app before the next old one was told to go: one worker at most
    # was out of service at any moment, never all of them, however long the import took.
    assert timeline.retired == set(old) and set(new) <= timeline.ready
    assert min(timeline.serving) == srv.workers - 1 and timeline.serving[-1] == srv.workers
    assert srv.get("/") == (200, "hello v2")
    assert set(report["bodies"]) <= {"hello v1", "hello v2"}, report
