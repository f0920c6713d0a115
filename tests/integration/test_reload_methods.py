"""The methods that replace the master's interpreter: gunicorn USR2 and uWSGI's full reload."""
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes
from httpload import Load
from testservers import Server, add_dependency, break_import, set_version
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import ReloadError, read_pidfile, reload_server

NEW_MASTER = {"gunicorn": "usr2", "uwsgi": "full"}


@pytest.fixture(params=sorted(NEW_MASTER))
def kind(request):
    return request.param


def _start(kind, tmp_path, **kwargs):
    return Server(kind, tmp_path, **kwargs).start()


def test_new_interpreter_serves_the_new_code_with_no_failed_request(kind, tmp_path):
    srv = _start(kind, tmp_path)
    try:
        old_master = srv.proc.pid
        before = srv.worker_pids()
        set_version(srv.app_dir, "2")
        with Load(srv.url + "/", clients=4, max_seconds=90) as load:
            time.sleep(0.5)
            facts = reload_server(srv.params(method=NEW_MASTER[kind]))
            time.sleep(0.5)
        report = load.report()

        assert facts["reloaded"] is True and facts["method"] == NEW_MASTER[kind]
        assert report["failed"] == 0, report
        assert report["ok"] > 0
        assert facts["old_master_pid"] == old_master
        assert read_pidfile(srv.pidfile) == facts["master_pid"]
        assert sorted(facts["old_pids"]) == sorted(before)
        assert len(facts["new_pids"]) == srv.workers
        assert not set(facts["new_pids"]) & set(before)
        assert set(facts["new_pids"]) == set(processes.children(facts["master_pid"]))
        if kind == "gunicorn":
            # A new master took over and the old one is gone.
            assert facts["master_pid"] != old_master
            assert not processes.running(old_master)
            assert not os.path.exists(srv.pidfile + ".2")
        else:
            # uWSGI re-executes its master in place.
            assert facts["master_pid"] == old_master
            assert facts["ended_by"] == "master re-executed, %d new workers loaded the app" % srv.workers
        assert srv.get("/") == (200, "hello v2")
    finally:
        _stop_all(srv)


def test_gunicorn_usr2_with_broken_code_keeps_the_old_master_serving(tmp_path):
    srv = _start("gunicorn", tmp_path)
    try:
        old_master = srv.proc.pid
        before = srv.worker_pids()
        break_import(srv.app_dir)
        with Load(srv.url + "/", clients=4, max_seconds=60) as load:
            time.sleep(0.3)
            with pytest.raises(ReloadError) as failed:
                reload_server(srv.params(method="usr2", timeout=30))
            time.sleep(0.5)
        report = load.report()

        assert "new gunicorn master" in failed.value.msg
        assert "still serves the old code" in failed.value.msg
        assert failed.value.facts["running"] is True
        assert report["failed"] == 0, report
        assert srv.proc.poll() is None
        assert srv.worker_pids() == before
        assert read_pidfile(srv.pidfile) == old_master
        assert srv.get("/") == (200, "hello v1")
    finally:
        _stop_all(srv)


def test_uwsgi_full_reload_with_broken_code_is_reported_with_the_log_lines(tmp_path):
    srv = _start("uwsgi", tmp_path)
    try:
        break_import(srv.app_dir)
        with pytest.raises(ReloadError) as failed:
            reload_server(srv.params(method="full", timeout=60))
        assert "failed to load the new code" in failed.value.msg
        assert any("unable to load app" in line or "no app loaded" in line
                   for line in failed.value.facts["log_lines"])
    finally:
        _stop_all(srv)


def test_uwsgi_full_reload_lets_a_10s_request_in_flight_finish(tmp_path):
    srv = _start("uwsgi", tmp_path)
    try:
        in_flight, facts = srv.reload_with_request_in_flight(10, method="full")
        assert in_flight == (200, "slow done v1")
        assert facts["reloaded"] is True and facts["method"] == "full"
        assert srv.get("/") == (200, "hello v2")
    finally:
        _stop_all(srv)


def test_check_mode_twin_starts_no_new_interpreter(kind, tmp_path):
    srv = _start(kind, tmp_path)
    try:
        before = srv.worker_pids()
        set_version(srv.app_dir, "2")
        facts = reload_server(srv.params(method=NEW_MASTER[kind]), check_mode=True)
        assert facts["changed"] is True and facts["reloaded"] is False
        assert facts["method"] == NEW_MASTER[kind]
        time.sleep(2)
        assert srv.worker_pids() == before
        assert read_pidfile(srv.pidfile) == srv.proc.pid
        assert not os.path.exists(srv.pidfile + ".2")
        assert srv.get("/") == (200, "hello v1")
    finally:
        _stop_all(srv)


@pytest.mark.parametrize("check_mode", [False, True])
def test_usr2_is_refused_while_an_earlier_upgrade_runs(tmp_path, check_mode):
    srv = _start("gunicorn", tmp_path / "live")
    other = _start("gunicorn", tmp_path / "other")
    try:
        with open(srv.pidfile + ".2", "w") as handle:
            handle.write("%d\n" % other.proc.pid)
        before = srv.worker_pids()
        with pytest.raises(ReloadError, match="already taking over"):
            reload_server(srv.params(method="usr2"), check_mode=check_mode)
        assert srv.worker_pids() == before and other.proc.poll() is None
    finally:
        _stop_all(srv)
        _stop_all(other)


@pytest.mark.parametrize("kind, method", [("gunicorn", "chain"), ("uwsgi", "usr2")])
def test_a_method_of_the_other_server_is_refused(kind, method, tmp_path):
    srv = _start(kind, tmp_path)
    try:
        before = srv.worker_pids()
        with pytest.raises(ReloadError, match="is not one of %s's" % kind):
            reload_server(srv.params(method=method))
        assert srv.worker_pids() == before
    finally:
        _stop_all(srv)


def _stop_all(srv):
    """Stop the server's whole process group, the masters a USR2 started included."""
    srv.stop()
    subprocess.run(["pkill", "-KILL", "-g", str(srv.proc.pid)], check=False)
    deadline = time.monotonic() + 5
    while subprocess.run(["pgrep", "-g", str(srv.proc.pid)], capture_output=True).returncode == 0:
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)


def _venv(path, site_packages, extra_package=None):
    """A small virtualenv that sees this one's packages (server, Flask) through a .pth file."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    site = os.path.join(str(path), "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
    with open(os.path.join(site, "outer.pth"), "w") as handle:
        handle.write(site_packages + "\n")
    if extra_package:
        os.makedirs(os.path.join(site, extra_package))
        with open(os.path.join(site, extra_package, "__init__.py"), "w") as handle:
            handle.write('__version__ = "1.0"\n')


def test_a_new_master_runs_in_the_virtualenv_the_link_points_to_now(kind, tmp_path):
    """The role's switch of `venv` to a new virtualenv, then a reload that re-executes the master."""
    import sysconfig
    outer = sysconfig.get_paths()["purelib"]
    _venv(tmp_path / "venvs" / "a", outer)
    _venv(tmp_path / "venvs" / "b", outer, extra_package="newdep")
    link = tmp_path / "venv"
    os.symlink("venvs/a", str(link))
    python = str(link / "bin" / "python")
    srv = Server(kind, tmp_path / "srv", extra={"binary-path": python} if kind == "uwsgi" else None)
    srv.prefix = [python]
    srv.start()
    try:
        add_dependency(srv.app_dir, requirement="newdep", module="newdep")
        os.unlink(str(link))
        os.symlink("venvs/b", str(link))
        with Load(srv.url + "/", clients=4, max_seconds=90) as load:
            time.sleep(0.3)
            facts = reload_server(srv.params(method=NEW_MASTER[kind]))
            time.sleep(0.3)
        assert load.report()["failed"] == 0, load.report()
        assert facts["reloaded"] is True
        assert srv.get("/") == (200, "hello v1 with newdep 1.0")
    finally:
        _stop_all(srv)


@pytest.mark.parametrize("method", ["fifo", "workers"])
def test_uwsgi_reloads_through_its_master_fifo_with_no_failed_request(method, tmp_path):
    fifo = str(tmp_path / "master.fifo")
    srv = _start("uwsgi", tmp_path / "srv", extra={"master-fifo": fifo})
    try:
        before = srv.worker_pids()
        set_version(srv.app_dir, "2")
        with Load(srv.url + "/", clients=4, max_seconds=90) as load:
            time.sleep(0.3)
            facts = reload_server(srv.params(method=method, fifo_file=fifo))
            time.sleep(0.3)
        assert load.report()["failed"] == 0, load.report()
        assert facts["method"] == method and facts["master_pid"] == srv.proc.pid
        assert len(facts["new_pids"]) == srv.workers and not set(facts["new_pids"]) & set(before)
        assert facts["ended_by"] == {"fifo": "log: chain reloading complete",
                                     "workers": "%d new workers loaded the app" % srv.workers}[method]
        assert srv.get("/") == (200, "hello v2")
    finally:
        _stop_all(srv)


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_fifo_that_no_uwsgi_reads_is_refused_without_hanging(tmp_path, check_mode):
    srv = _start("uwsgi", tmp_path / "srv")
    try:
        stray = str(tmp_path / "stray.fifo")
        os.mkfifo(stray)
        before = srv.worker_pids()
        with pytest.raises(ReloadError, match="nobody reads the master FIFO"):
            reload_server(srv.params(method="fifo", fifo_file=stray), check_mode=check_mode)
        with pytest.raises(ReloadError, match="is not a FIFO"):
            reload_server(srv.params(method="workers", fifo_file=srv.log_file), check_mode=check_mode)
        assert srv.worker_pids() == before
    finally:
        _stop_all(srv)
