"""The log follower and the uWSGI chain reader, on log files written by the test."""
import os

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.server_log import (
    GranianRespawn, LogWatcher, UvicornRestart, UwsgiChain, UwsgiFull, gunicorn_failures)

CHAIN = """\
Fri Nov 27 10:57:16 2026 - *** /srv/a/run/reload.touch has been touched... chain reload !!! ***
Fri Nov 27 10:57:16 2026 - chain next victim is worker 1
Gracefully killing worker 1 (pid: 3873)...
worker 1 killed successfully (pid: 3873)
Respawned uWSGI worker 1 (new pid: 3885)
Fri Nov 27 10:57:17 2026 - chain is still waiting for worker 1...
Fri Nov 27 10:57:18 2026 - chain next victim is worker 2
Gracefully killing worker 2 (pid: 3874)...
Respawned uWSGI worker 2 (new pid: 3887)
Fri Nov 27 10:57:20 2026 - chain reloading complete
"""


def test_only_lines_written_after_opening_are_read(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("before the reload\n")
    watcher = LogWatcher(str(log))
    with open(log, "a") as handle:
        handle.write("first\nsecond\n")
    assert watcher.poll() == ["first", "second"]
    assert watcher.poll() == []


def test_a_line_is_returned_once_it_is_ended(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("")
    watcher = LogWatcher(str(log))
    with open(log, "a") as handle:
        handle.write("chain reloading comp")
    assert watcher.poll() == [] and watcher.pending() == "chain reloading comp"
    with open(log, "a") as handle:
        handle.write("lete\n")
    assert watcher.poll() == ["chain reloading complete"]


def test_a_truncated_or_rotated_log_is_read_from_its_start(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("old line that is long enough\n")
    watcher = LogWatcher(str(log))
    log.write_text("new\n")
    assert watcher.poll() == ["new"]
    os.rename(log, tmp_path / "server.log.1")
    log.write_text("after rotation\n")
    assert watcher.poll() == ["after rotation"]


def test_a_log_that_does_not_exist_yet_is_read_once_it_appears(tmp_path):
    log = tmp_path / "later.log"
    watcher = LogWatcher(str(log))
    assert watcher.poll() == []
    log.write_text("hello\n")
    assert watcher.poll() == ["hello"]


def test_uwsgi_chain_lines_give_old_and_new_pids_and_the_end():
    chain = UwsgiChain()
    chain.feed(CHAIN.splitlines()[:6])
    assert chain.started and not chain.complete and chain.waiting_for == 1
    chain.feed(CHAIN.splitlines()[6:])
    assert chain.complete
    assert chain.old_pids == [3873, 3874] and chain.new_pids == [3885, 3887]
    assert chain.failures == []


def test_uwsgi_workers_that_failed_to_load_are_failures_even_when_the_chain_completes():
    chain = UwsgiChain()
    chain.feed(["unable to load app 0 (mountpoint='') (callable not found or import error)",
                "*** no app loaded. going in full dynamic mode ***",
                "Fri Nov 27 10:57:20 2026 - chain reloading complete"])
    assert chain.complete and len(chain.failures) == 2


def test_gunicorn_boot_failures_are_picked_out():
    lines = ["[INFO] Booting worker with pid: 7", "[ERROR] Exception in worker process",
             "[INFO] Worker exiting (pid: 7)"]
    assert gunicorn_failures(lines) == ["[ERROR] Exception in worker process"]


def test_a_worker_respawned_soon_after_its_spawn_is_no_failure_and_one_that_cannot_load_is():
    # Two reloads of the workers a second apart (FIFO `r`): uWSGI 2.0 sleeps before it spawns again.
    respawned = ["...gracefully killing workers...",
                 "worker respawning too fast !!! i have to sleep a bit (2 seconds)...",
                 "WSGI app 0 (mountpoint='') ready in 1 seconds on interpreter 0x55d0 pid: 4101 (default app)"]
    full = UwsgiFull(master_reexec=False)
    full.feed(respawned)
    assert full.failures == [] and full.ready_pids == {4101}
    full = UwsgiFull(master_reexec=False)
    full.feed(respawned[:2] + ["unable to load app 0 (mountpoint='') (callable not found or import error)"])
    assert full.failures == ["unable to load app 0 (mountpoint='') (callable not found or import error)"]


# uvicorn 0.55.0 with --workers 2, a SIGHUP, then a second one whose new worker could not import.
UVICORN = """\
INFO:     Received SIGHUP, restarting processes.
INFO:     Started server process [8944]
INFO:     Waiting for application startup.
INFO:     Application startup complete.
INFO:     Terminated child process [8478]
INFO:     Waiting for child process [8478]
INFO:     Finished server process [8478]
INFO:     Started server process [8995]
INFO:     Terminated child process [8479]
INFO:     Received SIGHUP, restarting processes.
ERROR:    New child process [9120] was not ready in time; keeping worker [8944] and aborting the restart.
"""


def test_uvicorn_restart_lines_name_each_new_worker_and_the_give_up():
    lines = UVICORN.splitlines()
    restart = UvicornRestart()
    restart.feed(lines[:9])
    assert restart.acknowledged and restart.started_pids == {8944, 8995} and not restart.aborted
    restart.feed(lines[9:])
    assert restart.aborted == ("New child process [9120] was not ready in time; keeping worker [8944] "
                               "and aborting the restart.")


# Granian 2.8.9 with --workers 2: a SIGHUP with a respawn interval longer than the app's start, then
# one where worker-2's old process was stopped before the new one started, and a worker lost.
GRANIAN = """\
[INFO] HUP signal received, gracefully respawning workers..
[INFO] Respawning worker-1
[INFO] Spawning worker-1 with PID: 29032
[INFO] Started worker-1
[INFO] Stopping old worker-1
[INFO] Stopped old worker-1
[INFO] Respawning worker-2
[INFO] Spawning worker-2 with PID: 29037
[INFO] Stopping old worker-2
[INFO] Started worker-2
[ERROR] Unexpected exit from worker-1
"""


def test_granian_lines_name_each_new_workers_pid_by_its_number():
    lines = GRANIAN.splitlines()
    respawn = GranianRespawn()
    respawn.feed(lines[:6])
    assert respawn.acknowledged and respawn.started_pids == {29032} and not respawn.stopped_early
    respawn.feed(lines[6:10])
    assert respawn.started_pids == {29032, 29037} and respawn.stopped_early == [2] and not respawn.failures
    respawn.feed(lines[10:])
    assert respawn.failures == ["[ERROR] Unexpected exit from worker-1"]
