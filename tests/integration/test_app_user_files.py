"""The module runs as root; the pidfile, the log, the touch file, the master FIFO and the config
belong to the app's user. Each attack below is what that user can do to them between two
deploys, or during one: root must neither follow, block, leak, write nor signal."""
import os
import signal
import subprocess
import threading
import time
import tracemalloc

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import app_files
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes as procs
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import server_config as config
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import (
    ReloadError, _write_fifo, locate_uwsgi_master, read_pidfile, reload_server, trigger)
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.server_log import MAX_POLL_BYTES, LogWatcher

SECRET = "4242\nroot:$6$only-root-reads-this\n"


@pytest.fixture
def secret(tmp_path):
    """A file only root may read, which the app's user would like to see or change."""
    path = tmp_path / "root-only" / "shadow"
    path.parent.mkdir(mode=0o700)
    path.write_text(SECRET)
    path.chmod(0o600)
    return path


def finishes(call, seconds=5):
    """Run call in a thread; whether it returned (or raised) within `seconds`, and how."""
    outcome = {}

    def run():
        try:
            outcome["value"] = call()
        except Exception as exc:  # noqa: BLE001 (the test looks at whatever it raised)
            outcome["error"] = exc
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive(), outcome


def test_a_pidfile_linked_to_a_root_only_file_is_refused_and_never_quoted(tmp_path, secret):
    pidfile = tmp_path / "server.pid"
    pidfile.symlink_to(secret)
    with pytest.raises(ReloadError) as raised:
        read_pidfile(str(pidfile))
    assert "is a symlink, which is never followed" in raised.value.msg
    assert "root:" not in raised.value.msg and "4242" not in raised.value.msg


def test_a_pidfile_that_is_a_fifo_is_refused_at_once(tmp_path):
    pidfile = tmp_path / "server.pid"
    os.mkfifo(pidfile)
    done, outcome = finishes(lambda: read_pidfile(str(pidfile)))
    assert done, "reading the pidfile hung on a FIFO that nobody writes"
    assert isinstance(outcome.get("error"), ReloadError)
    assert "is not a regular file" in outcome["error"].msg


def test_a_pidfile_hard_linked_to_another_name_is_refused(tmp_path):
    pidfile = tmp_path / "server.pid"
    pidfile.write_text("4242\n")
    os.link(pidfile, tmp_path / "elsewhere")
    with pytest.raises(ReloadError) as raised:
        read_pidfile(str(pidfile))
    assert "has 2 hard links" in raised.value.msg


def test_a_touch_file_that_is_a_dangling_link_creates_nothing(tmp_path):
    target = tmp_path / "etc" / "cron.d-job"
    target.parent.mkdir()
    reload_file = tmp_path / "reload.touch"
    reload_file.symlink_to(target)
    plan = {"method": "chain", "reload_file": str(reload_file), "master": (1, 0), "server": "uwsgi"}
    with pytest.raises(ReloadError) as raised:
        trigger(plan)
    assert "is a symlink, which is never followed" in raised.value.msg
    assert not os.path.lexists(target)


def test_a_touch_file_moves_forward_and_is_made_when_missing(tmp_path):
    reload_file = tmp_path / "reload.touch"
    app_files.touch_forward(str(reload_file))
    first = os.stat(reload_file).st_mtime
    app_files.touch_forward(str(reload_file))
    assert os.stat(reload_file).st_mtime >= first + 1
    assert not os.path.islink(reload_file) and reload_file.is_file()


@pytest.mark.parametrize("swap", ["symlink", "regular file"])
def test_a_master_fifo_swapped_for_something_else_gets_nothing_written(tmp_path, secret, swap):
    fifo = tmp_path / "master.fifo"
    if swap == "symlink":
        fifo.symlink_to(secret)
    else:
        fifo.write_text("not a fifo\n")
    before = {path: path.read_bytes() for path in (secret, fifo) if not path.is_symlink()}
    plan = {"method": "fifo", "fifo_file": str(fifo), "master": (1, 0), "server": "uwsgi"}
    with pytest.raises(ReloadError) as raised:
        _write_fifo(plan, b"c", sleep=lambda seconds: None)
    assert "nothing was written" in raised.value.msg
    assert {path: path.read_bytes() for path in before} == before


def test_a_master_fifo_with_a_reader_gets_the_command(tmp_path):
    fifo = tmp_path / "master.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        plan = {"method": "fifo", "fifo_file": str(fifo), "master": (1, 0), "server": "uwsgi"}
        _write_fifo(plan, b"c")
        assert os.read(reader, 10) == b"c"
    finally:
        os.close(reader)


def test_a_log_swapped_for_a_link_to_a_root_only_file_during_the_reload_is_not_read(tmp_path, secret):
    log = tmp_path / "server.log"
    log.write_text("Booting worker\n")
    watcher = LogWatcher(str(log))
    log.unlink()
    log.symlink_to(secret)
    assert watcher.poll() == []
    assert not any("root:" in line for line in watcher.lines)


def test_a_log_that_becomes_a_fifo_does_not_hang_the_watch(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("")
    watcher = LogWatcher(str(log))
    log.unlink()
    os.mkfifo(log)
    done, outcome = finishes(watcher.poll)
    assert done and outcome.get("value") == []


def test_a_huge_sparse_log_is_read_from_its_end_and_bounded(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("")
    watcher = LogWatcher(str(log))
    with open(log, "r+b") as handle:
        handle.truncate(3 << 30)  # 3 GiB that claim to be there, without the disk
        handle.seek(0, os.SEEK_END)
        handle.write(b"\nchain next victim is worker 1\n...chain reloading complete\n")
    tracemalloc.start()
    try:
        lines = watcher.poll()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert lines == ["chain next victim is worker 1", "...chain reloading complete"]
    assert peak < 4 * MAX_POLL_BYTES, "read %d bytes into memory" % peak


def test_a_config_named_on_a_command_line_that_is_a_fifo_is_not_waited_for(tmp_path):
    ini = tmp_path / "x.ini"
    os.mkfifo(ini)
    done, outcome = finishes(lambda: config.read_text(str(ini)))
    assert done, "reading a config hung on a FIFO"
    assert isinstance(outcome.get("error"), OSError)


def fake_uwsgi_master_of_nobody(ini):
    """Any user can start a process that looks like a uWSGI master and names any ini file."""
    return subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "bash", "-c",
                             'exec -a uwsgi python3 -c "import time; time.sleep(60)" --ini "$0"', str(ini)])


@pytest.mark.parametrize("mode,found", [(0o600, False), (0o644, True)])
def test_discovery_reads_a_named_ini_only_if_the_masters_own_user_could(tmp_path, mode, found):
    reload_file = str(tmp_path / "reload.touch")
    ini = tmp_path / "app.ini"
    ini.write_text("[uwsgi]\ntouch-chain-reload = %s\n" % reload_file)
    ini.chmod(mode)
    master = fake_uwsgi_master_of_nobody(ini)
    try:
        deadline = time.monotonic() + 10
        while procs.argv(master.pid)[:1] != ["uwsgi"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        if found:
            assert locate_uwsgi_master(reload_file)[0] == master.pid
        else:
            with pytest.raises(ReloadError) as refused:
                locate_uwsgi_master(reload_file)
            assert "found 0 running uWSGI masters" in refused.value.msg
    finally:
        master.kill()
        master.wait()


@pytest.mark.parametrize("cut", ["stopped", "killed"])
def test_a_look_as_the_workers_user_that_this_user_cuts_short_counts_for_nothing(cut):
    # A process of nobody's, whose /proc root is made to look at as nobody, in a forked child.
    worker = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "sleep", "60"])
    try:
        deadline = time.monotonic() + 10
        while os.stat("/proc/%d" % worker.pid).st_uid == 0:  # until setpriv has dropped to nobody
            assert time.monotonic() < deadline
            time.sleep(0.01)
        def look(pid):
            if os.geteuid() == 0:
                raise PermissionError("as in a container")
            # What nobody can do to the child that looks as nobody.
            os.kill(os.getpid(), signal.SIGSTOP if cut == "stopped" else signal.SIGKILL)
            return ["a result the caller must never see"]
        started = time.monotonic()
        assert procs._as_owner_of(worker.pid, look, interfered="cut short") == "cut short"
        assert time.monotonic() - started < procs.OWNER_LOOK_SECONDS + 2, "a stopped look hung"
    finally:
        worker.kill()
        worker.wait()


def test_a_signal_goes_only_to_the_process_that_was_checked():
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        ident = procs.identity(sleeper.pid)
        # Another start time under the same PID: a process that took the PID after the check.
        with pytest.raises(procs.ProcessGone):
            procs.send_signal((sleeper.pid, ident[1] + 1), 15)
        assert sleeper.poll() is None, "a process other than the checked one was signalled"
        procs.send_signal(ident, 15)
        assert sleeper.wait(10) == -15
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()


def test_a_pidfile_naming_another_apps_master_gets_it_no_signal(gunicorn, tmp_path):
    # The app's user writes the PID of another app's live gunicorn master into its pidfile.
    pidfile = tmp_path / "run" / "server.pid"
    pidfile.parent.mkdir()
    pidfile.write_text("%d\n" % gunicorn.proc.pid)
    workers = gunicorn.worker_pids()
    params = dict(gunicorn.params(), pidfile=str(pidfile), master_path="/srv/shop/etc/gunicorn.conf.py")
    with pytest.raises(ReloadError) as raised:
        reload_server(params)
    assert "do not name /srv/shop/etc/gunicorn.conf.py: it runs another app, and was not signalled" in raised.value.msg
    assert raised.value.facts["foreign"] is True
    assert gunicorn.worker_pids() == workers, "the other app's master was signalled"
    # Nor is it the app's whose directory is a prefix of its own: /srv/app is not /srv/app-admin.
    prefix = dict(gunicorn.params(), master_path=gunicorn.base.rstrip("/")[:-1])
    with pytest.raises(ReloadError) as raised:
        reload_server(prefix)
    assert "it runs another app, and was not signalled" in raised.value.msg
    # Named by its own config, the same master is this app's.
    own = dict(gunicorn.params(), master_path=os.path.join(gunicorn.base, "gunicorn.conf.py"))
    assert reload_server(own)["reloaded"] is True


@pytest.mark.parametrize("proof, refusal", [
    # This master runs as root; the app's master would run as the app's user.
    ({"master_user": "nobody"}, "runs as uid 0, not as nobody"),
    # It was started by the test, in no unit's cgroup: under systemd, the app's master is in its
    # unit's, and a forged pidfile can name only a process outside it.
    ({"master_unit": "wsgi-shop.service"}, "outside the cgroup of wsgi-shop.service"),
])
def test_a_pidfile_naming_a_master_that_is_not_the_apps_gets_it_no_signal(gunicorn, proof, refusal):
    workers = gunicorn.worker_pids()
    with pytest.raises(ReloadError) as raised:
        reload_server(dict(gunicorn.params(), **proof))
    assert refusal in raised.value.msg and "was not signalled" in raised.value.msg
    assert raised.value.facts["foreign"] is True
    assert gunicorn.worker_pids() == workers, "a master that is not the app's was signalled"


def test_a_master_of_the_expected_user_is_reloaded(gunicorn):
    assert reload_server(dict(gunicorn.params(), master_user="root"))["reloaded"] is True
