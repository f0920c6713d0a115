# -*- coding: utf-8 -*-
"""Graceful reload of a running gunicorn, uWSGI, uvicorn or Granian, and the wait for its real end.

Every check that can refuse runs in prepare(), before anything is signalled or touched;
trigger() is the only step that changes the server; wait() only watches.
"""
from __future__ import annotations

import errno
import os
import pwd
import signal
import stat
import time

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import app_files
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes as procs
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import server_config as config
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import server_log
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.server_log import (
    GranianRespawn, LogWatcher, UvicornRestart, UwsgiChain, UwsgiFull, gunicorn_failures)

SERVERS = ("gunicorn", "uwsgi", "uvicorn", "granian")
# The options that prove a pidfile's master this app's (doc fragment graceful.wsgi_deploy.master).
MASTER_ARGUMENT_SPEC = {
    "master_path": {"type": "path"},
    "master_user": {"type": "str"},
    "master_unit": {"type": "str"},
}
# What each server and reload method needs to find its master and to reload it, for every module
# that takes them. Without a pidfile, the uWSGI master is the one whose config names reload_file.
SERVER_REQUIRED_IF = [
    ("server", "gunicorn", ["pidfile"]),
    ("server", "uvicorn", ["pidfile"]),
    ("server", "granian", ["pidfile"]),
    ("server", "uwsgi", ["pidfile", "reload_file"], True),
    ("method", "chain", ["reload_file"]),
    ("method", "fifo", ["fifo_file"]),
    ("method", "workers", ["fifo_file"]),
]
# The first method of each server is its default. hup, ttin and chain keep the master and its
# interpreter; usr2 and full replace the interpreter, which a new virtualenv needs.
# fifo (chain) and workers reload through uWSGI's master FIFO. uvicorn's hup (0.51 and later)
# replaces its workers one at a time, each new one ready before the old one is stopped. Granian's
# hup replaces them one at a time too, but stops each old one a fixed respawn interval after it
# started the new one, ready or not.
METHODS = {"gunicorn": ("hup", "usr2", "ttin"), "uwsgi": ("chain", "full", "fifo", "workers"), "uvicorn": ("hup",),
           "granian": ("hup",)}
FIFO_COMMANDS = {"fifo": b"c", "workers": b"w"}
POLL_SECONDS = 0.05
# uWSGI looks at its touch files once per master cycle, about every second; a new gunicorn
# master writes its pidfile before it imports anything.
UWSGI_ACK_SECONDS = 10.0
USR2_ACK_SECONDS = 10.0
# uvicorn's master looks at its signals every half second, and logs the restart as it begins;
# Granian's too.
UVICORN_ACK_SECONDS = 10.0
# A gunicorn master forks a worker, or tells its oldest to stop, within milliseconds of a TTIN or
# a TTOU; the next signal waits for that, as two signals pending at once would count as one.
TTIN_ACK_SECONDS = 10.0
FIFO_REOPEN_SECONDS = 3.0
TAIL_LINES = 40
PIDFILE_MAX_BYTES = 32


class ReloadError(Exception):
    """A reload that was refused or did not end well; facts says what was seen."""

    def __init__(self, msg, **facts):
        super(ReloadError, self).__init__(msg)
        self.msg = msg
        self.facts = facts


def read_pidfile(path):
    """The PID a pidfile names. It belongs to the app's user: read as a regular file only."""
    try:
        text = app_files.read_regular(path, PIDFILE_MAX_BYTES).decode("ascii", "replace").strip()
    except FileNotFoundError:
        raise ReloadError("pidfile %s does not exist: is the server running?" % path)
    except app_files.UnsafeFile as exc:
        raise ReloadError("pidfile %s: refused, nothing was signalled" % exc)
    except OSError as exc:
        raise ReloadError("cannot read pidfile %s: %s" % (path, exc.strerror))
    if not text.isdigit() or int(text) <= 1:
        raise ReloadError("pidfile %s holds %r, not a process ID" % (path, text[:20]))
    return int(text)


def find_master(server, pidfile, master_path=None, master_user=None, master_unit=None):
    """The (pid, start) identity of the server's master, or a ReloadError saying why not. With
    master_path, a master whose command line does not name it (its config file) runs another app;
    with master_unit, one outside that systemd unit's cgroup does."""
    pid = read_pidfile(pidfile)
    try:
        ident = procs.identity(pid)
    except procs.ProcessGone:
        raise ReloadError(
            "pidfile %s names PID %d, which is not running: the pidfile is stale and "
            "the server is down" % (pidfile, pid), master_pid=pid, running=False)
    if not procs.is_alive(ident):
        raise ReloadError("PID %d from %s has exited (zombie)" % (pid, pidfile),
                          master_pid=pid, running=False)
    if not procs.is_server_process(pid, server):
        raise ReloadError(
            "pidfile %s names PID %d, which runs `%s`, not a %s master: the pidfile is stale "
            "and that process was not signalled" % (pidfile, pid, procs.describe(pid), server),
            master_pid=pid, running=False, foreign=True)
    parent = procs.ppid(pid)
    if procs.is_server_process(parent, server):
        raise ReloadError(
            "pidfile %s names PID %d, a %s worker whose master is PID %d; point the pidfile "
            "at the master" % (pidfile, pid, server, parent), master_pid=pid, foreign=True)
    if master_user is not None:
        uid = procs.credentials(pid)[0]
        if uid != master_user.pw_uid:
            raise ReloadError(
                "pidfile %s names PID %d, a %s master that runs as uid %d, not as %s (uid %d): it runs another "
                "app, and was not signalled" % (pidfile, pid, server, uid, master_user.pw_name, master_user.pw_uid),
                master_pid=pid, running=False, foreign=True)
    if master_unit and not _in_unit(pid, master_unit):
        # systemd puts every process of a unit into the unit's cgroup, and only root moves one out.
        raise ReloadError(
            "pidfile %s names PID %d, a %s master outside the cgroup of %s: systemd did not start it for "
            "this app, and it was not signalled" % (pidfile, pid, server, master_unit),
            master_pid=pid, running=False, foreign=True)
    if master_path and not _master_names(pid, master_path):
        # The pidfile is the app's user's to write: it may name a master of another app.
        raise ReloadError(
            "pidfile %s names PID %d, a %s master whose command line, working directory, config and "
            "environment do not name %s: it runs another app, and was not signalled" % (pidfile, pid, server, master_path),
            master_pid=pid, running=False, foreign=True)
    return ident


def _in_unit(pid, unit):
    """Whether PID is in the cgroup of the systemd unit (its own, or one below it)."""
    try:
        return any(unit in path.split("/") for path in procs.cgroups(pid))
    except (procs.ProcessGone, OSError):
        return False


def _master_names(pid, path):
    """Whether the master PID is this app's: its command line, its working directory, a config file
    its command line names (read as its own user could) or its environment names path."""
    try:
        if any(config.names_path(word, path) for word in procs.argv(pid)):
            return True
    except procs.ProcessGone:
        return False
    launch = procs.command_line(pid)
    if launch is None:
        return False
    words, cwd = launch
    inside = path.rstrip("/") + "/"
    if cwd and (cwd == path.rstrip("/") or cwd.startswith(inside)):
        return True
    if any(config.names_path(value, path) for value in procs.environ(pid).values()):
        return True
    return config.mentions(words, cwd or "/", path, _master_read(pid))


def locate_uwsgi_master(reload_file):
    """The one uWSGI master whose config names reload_file, for servers set up without a pidfile."""
    candidates = procs.masters("uwsgi")
    matching = [pid for pid in candidates if _config_mentions(pid, reload_file)]
    if len(matching) != 1:
        raise ReloadError(
            "found %d running uWSGI masters whose command line or ini file names %s (of %d "
            "uWSGI masters in all); set the pidfile to say which one to reload"
            % (len(matching), reload_file, len(candidates)), running=False)
    return procs.identity(matching[0])


def _config_mentions(pid, text):
    """Whether PID's command line, or a config file named on it, mentions text."""
    launch = procs.command_line(pid)
    return launch is not None and config.mentions(*launch, path=text, read=_master_read(pid))


def _master_read(pid):
    """How to read the config files PID's command line names: only those its own user may read.
    Any user can start a process that names a root-only file; root reads nothing for it."""
    try:
        return config.reader_for(procs.credentials(pid))
    except (procs.ProcessGone, OSError, ValueError, IndexError):
        return lambda path: ""


def _master_user(params):
    """The pwd entry of the user the master must run as (params["master_user"]), or None."""
    name = params.get("master_user")
    if not name:
        return None
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise ReloadError("no user %s, as whom the %s master would run" % (name, params["server"]))


def find_server(params):
    if params.get("pidfile"):
        return find_master(params["server"], params["pidfile"], params.get("master_path"), _master_user(params),
                           params.get("master_unit"))
    if params["server"] == "uwsgi" and params.get("reload_file"):
        return locate_uwsgi_master(params["reload_file"])
    raise ReloadError("a pidfile is needed to find the %s master" % params["server"])


def prepare(params):
    """Check everything and snapshot the server; nothing is changed here."""
    server = params["server"]
    if server not in SERVERS:
        raise ReloadError("server must be one of %s, not %r" % (", ".join(SERVERS), server))
    master = find_server(params)
    workers = procs.workers(master[0], server)
    if server == "granian" and len(workers) == 1:
        raise ReloadError(
            "Granian (master PID %d) runs one worker: its reload stops that worker a fixed respawn interval "
            "after it starts the new one, ready or not, and no other worker serves meanwhile, so requests wait "
            "or fail for as long as the app takes to start beyond it. Run it with --workers 2 or more"
            % master[0], master_pid=master[0])
    if not workers and server == "uvicorn":
        raise ReloadError(
            "uvicorn (PID %d) runs without a master: started with --workers 1 (or none), it serves "
            "in one process that a SIGHUP does not replace, so no reload can be graceful. Start it "
            "with --workers 2 or more" % master[0], master_pid=master[0])
    if not workers:
        raise ReloadError("the %s master (PID %d) has no workers" % (server, master[0]),
                          master_pid=master[0])
    log_file = params.get("log_file")
    if not log_file and server in ("uwsgi", "uvicorn", "granian"):
        log_file = procs.stderr_target(master[0])
    method = params.get("method") or METHODS[server][0]
    if method not in METHODS[server]:
        raise ReloadError("method %r is not one of %s's: %s"
                          % (method, server, ", ".join(METHODS[server])))
    plan = {
        "server": server,
        "method": method,
        "master": master,
        "old_children": workers,
        "log_file": log_file,
        "reload_file": params.get("reload_file"),
        "fifo_file": params.get("fifo_file"),
        "expected_workers": params.get("expected_workers") or None,
        "timeout": float(params.get("timeout") or 120),
    }
    _check_server_config(plan)
    if method == "chain":
        _check_uwsgi_plan(plan)
    if method == "usr2":
        _check_usr2_plan(plan, params["pidfile"])
    if method in FIFO_COMMANDS:
        _check_fifo_plan(plan)
    if server in ("uvicorn", "granian") and not log_file:
        raise ReloadError(
            "cannot see the end of a %s reload: master PID %d does not log to a file (its stderr is %s), "
            "where each new worker says it started; set log_file to the file its output goes to"
            % (server, master[0], procs.stderr_path(master[0]) or "unknown"), master_pid=master[0])
    if method in ("full", "fifo", "workers") and not log_file:
        raise ReloadError("cannot see the end of a uWSGI %s reload: master PID %d does not log "
                          "to a file; set log_file" % (method, master[0]), master_pid=master[0])
    if log_file:
        try:
            app_files.regular_stat(log_file)
        except app_files.UnsafeFile as exc:
            raise ReloadError("log file %s: refused, it is not read" % exc, master_pid=master[0])
        except OSError as exc:
            raise ReloadError("log file %s is not readable: %s" % (log_file, exc.strerror), master_pid=master[0])
    return plan


def _check_uwsgi_plan(plan):
    reload_file = plan["reload_file"]
    if not reload_file:
        raise ReloadError("a uWSGI chain reload needs reload_file: the touch-chain-reload path")
    if not os.path.isdir(os.path.dirname(os.path.abspath(reload_file))):
        raise ReloadError("the directory of reload_file %s does not exist" % reload_file)
    if os.path.islink(reload_file):
        # The touch would create or touch whatever the link names, as the module's user.
        raise ReloadError("reload_file %s is a symlink, which is never followed: nothing was touched" % reload_file,
                          master_pid=plan["master"][0])
    if not plan["log_file"]:
        pid = plan["master"][0]
        raise ReloadError(
            "cannot see the end of a uWSGI chain reload: master PID %d does not log to a file "
            "(its stderr is %s); set log_file, or `logto` in its config"
            % (pid, procs.stderr_path(pid) or "unknown"), master_pid=pid)


def _check_server_config(plan):
    """Refuse a method that the running server's own config keeps from loading new code."""
    pid = plan["master"][0]
    launch = procs.command_line(pid)
    if launch is None:
        return
    words, cwd = launch
    env = procs.environ(pid)
    if plan["server"] == "uvicorn":
        _check_uvicorn_app_dir(pid, words, env)
        return
    if plan["server"] == "granian":
        return
    if plan["method"] in ("hup", "ttin"):
        if config.gunicorn_preload(words, cwd, env, _master_read(pid)):
            raise ReloadError(
                "gunicorn (master PID %d) runs with preload_app on: a %s forks the new workers "
                "from the master's copy of the app, so they would keep serving the old code. "
                "Turn preload_app off, or reload by usr2" % (pid, plan["method"]), master_pid=pid)
        return
    if plan["server"] != "uwsgi":
        return
    try:
        options = config.uwsgi_options(words, cwd, _master_read(pid))
    except (OSError, UnicodeDecodeError):
        return  # an ini it cannot read: unknown, not refused
    if env.get("UWSGI_LAZY_APPS"):
        options.setdefault("lazy-apps", env["UWSGI_LAZY_APPS"])
    if plan["method"] in ("chain", "fifo", "workers") and not config.uwsgi_lazy_apps(options):
        raise ReloadError(
            "uWSGI (master PID %d) runs without lazy-apps: a %s reload re-forks workers from "
            "the master, which loaded the app once, so they would keep serving the old code. "
            "Set lazy-apps = true, or reload by full" % (pid, plan["method"]), master_pid=pid)
    if plan["method"] == "full" and options.get("http") and not options.get("http-socket"):
        raise ReloadError(
            "uWSGI (master PID %d) serves HTTP through its http= router, which a full reload "
            "kills, dropping the requests in flight. Serve with http-socket, or reload by chain"
            % pid, master_pid=pid)
    if plan["method"] == "full" and _is_python(pid) and not options.get("binary-path"):
        raise ReloadError(
            "uWSGI (master PID %d) runs as pyuwsgi inside Python without binary-path: a full "
            "reload would re-execute the wrong program and the instance would die. Set "
            "binary-path to the virtualenv's bin/python" % pid, master_pid=pid)


def _check_uvicorn_app_dir(pid, words, env):
    """uvicorn's new workers start in the master's working directory, the release that was live
    when it started: only an absolute --app-dir (through `current`) makes them import the new one."""
    app_dir = env.get("UVICORN_APP_DIR")
    for index, word in enumerate(words):
        if word == "--app-dir" and index + 1 < len(words):
            app_dir = words[index + 1]
        elif word.startswith("--app-dir="):
            app_dir = word.split("=", 1)[1]
    if not app_dir or not os.path.isabs(app_dir):
        raise ReloadError(
            "uvicorn (master PID %d) finds the app through %s, relative to its working directory: each new "
            "worker of a reload starts in the directory the master resolved when it started, and would import "
            "the same code again. Start it with an absolute --app-dir (in a release layout, the `current` "
            "link)" % (pid, "--app-dir %s" % app_dir if app_dir else "no --app-dir"), master_pid=pid)


def _is_python(pid):
    return os.path.basename(procs.executable(pid) or "").startswith("python")


def _check_fifo_plan(plan):
    path = plan["fifo_file"]
    if not path:
        raise ReloadError("the %s method writes to uWSGI's master FIFO: give fifo_file, the "
                          "master-fifo path of its config" % plan["method"])
    try:
        is_fifo = stat.S_ISFIFO(os.lstat(path).st_mode)
    except OSError as exc:
        raise ReloadError("fifo_file %s: %s" % (path, exc.strerror), master_pid=plan["master"][0])
    if not is_fifo:
        raise ReloadError("fifo_file %s is not a FIFO (a symlink is never followed): is master-fifo set to it?" % path,
                          master_pid=plan["master"][0])


def _write_fifo(plan, command=None, clock=time.monotonic, sleep=time.sleep):
    """Write one command to uWSGI's master FIFO; None only checks that a master reads it.

    Non-blocking: a FIFO that no master reads would otherwise hang the deploy. uWSGI makes
    its FIFO anew each time a writer closes it: for a moment it may be missing (ENOENT), not
    open for reading yet (ENXIO), or closing (EPIPE); only a lasting failure counts.
    """
    deadline = clock() + FIFO_REOPEN_SECONDS
    while True:
        try:
            app_files.write_fifo(plan["fifo_file"], command)
            return "%r to %s" % ((command or b"").decode(), plan["fifo_file"])
        except app_files.UnsafeFile as exc:
            raise ReloadError("fifo_file %s: refused, nothing was written" % exc, master_pid=plan["master"][0])
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENXIO, errno.EPIPE) or clock() >= deadline:
                raise ReloadError("nobody reads the master FIFO %s (%s): is it this uWSGI's "
                                  "master-fifo?" % (plan["fifo_file"], exc.strerror),
                                  master_pid=plan["master"][0])
            sleep(POLL_SECONDS)


def _check_usr2_plan(plan, pidfile):
    plan["pidfile"] = pidfile
    plan["new_pidfile"] = pidfile + ".2"
    try:
        other = read_pidfile(plan["new_pidfile"])
    except ReloadError:
        return
    if procs.running(other) and procs.is_server_process(other, "gunicorn"):
        raise ReloadError(
            "another gunicorn master (PID %d, in %s) is already taking over from PID %d: an "
            "earlier USR2 upgrade has not finished" % (other, plan["new_pidfile"], plan["master"][0]),
            master_pid=plan["master"][0])


# hup to gunicorn and full to uWSGI are both SIGHUP: a graceful reload in each.
SIGNALS = {"hup": signal.SIGHUP, "usr2": signal.SIGUSR2, "full": signal.SIGHUP}


def _signal(plan, ident, signum):
    pid = ident[0]
    try:
        procs.send_signal(ident, signum)
    except procs.ProcessGone:
        raise ReloadError("the %s master PID %d exited before it was signalled; nothing was signalled"
                          % (plan["server"], pid), master_pid=pid, running=False)
    except PermissionError:
        raise ReloadError("not allowed to signal the %s master PID %d: run as its user or with "
                          "become" % (plan["server"], pid), master_pid=pid)
    return "%s to PID %d" % (signal.Signals(signum).name, pid)


def trigger(plan):
    """The one step that starts the reload: a signal, or a touch for a uWSGI chain. (ttin: the
    first of its TTINs; wait_gunicorn_ttin sends the others.)"""
    if plan["server"] in ("uvicorn", "granian"):
        return _signal(plan, plan["master"], signal.SIGHUP)
    if plan["method"] == "ttin":
        sent = _signal(plan, plan["master"], signal.SIGTTIN)
        return "%s, the first of %d; then a TTOU per old worker" % (sent, _ttin_count(plan))
    if plan["method"] in SIGNALS:
        return _signal(plan, plan["master"], SIGNALS[plan["method"]])
    if plan["method"] in FIFO_COMMANDS:
        return _write_fifo(plan, FIFO_COMMANDS[plan["method"]])
    path = plan["reload_file"]
    # uWSGI compares whole-second mtimes, so a touch in the same second as the last one
    # would go unseen: the time moves strictly forward.
    try:
        app_files.touch_forward(path)
    except app_files.UnsafeFile as exc:
        raise ReloadError("reload_file %s: refused, nothing was touched" % exc, master_pid=plan["master"][0])
    except OSError as exc:
        raise ReloadError("cannot touch reload_file %s: %s" % (path, exc.strerror), master_pid=plan["master"][0])
    return "touch %s" % path


def _tail(watcher):
    if watcher is None:
        return []
    lines = list(watcher.lines)
    if watcher.pending():
        lines.append(watcher.pending())
    return lines[-TAIL_LINES:]


def _fail(msg, plan, watcher, started, clock, **extra):
    facts = _facts(plan, watcher, started, clock)
    facts.update(extra)
    raise ReloadError(msg, **facts)


def _facts(plan, watcher, started, clock):
    return {
        "server": plan["server"],
        "method": plan["method"],
        "master_pid": plan["master"][0],
        "log_file": plan["log_file"],
        "log_lines": _tail(watcher),
        "duration_s": round(clock() - started, 3),
        "old_master_pid": plan["master"][0],
    }


def _note_serving(workers, serving):
    """Add to `serving` the workers seen in their serving loop. A worker seen there stays until
    it exits, so each is looked at only until then (in a container each look forks)."""
    serving.update(pid for pid in workers - serving if procs.gunicorn_worker_ready(pid) is not False)


def wait_gunicorn(plan, watcher, started, clock, sleep):
    """Ends once every old worker has exited and as many new ones live."""
    master = plan["master"]
    old = set(plan["old_children"])
    expected = plan["expected_workers"] or len(old)
    deadline = started + plan["timeout"]
    serving = set()
    while True:
        if watcher:
            watcher.poll()
        _fail_if_master_died(plan, watcher, started, clock, "the new code or config most likely fails to load")
        current, new = _workers_now(master, old, serving)
        if current is None:
            continue
        unready = sorted(new - serving)
        if not current & old and len(current) >= expected and not unready:
            facts = _facts(plan, watcher, started, clock)
            facts.update(old_pids=sorted(old), new_pids=sorted(current),
                         ended_by="all %d old workers exited, %d new workers serving"
                         % (len(old), len(current)))
            return facts
        if clock() >= deadline:
            _fail("gunicorn did not finish reloading within %ss: old workers still alive %s, "
                  "new workers %s (expected %d), not yet serving %s"
                  % (plan["timeout"], sorted(current & old), sorted(current - old), expected,
                     unready), plan, watcher, started, clock)
        sleep(POLL_SECONDS)


def _fail_if_master_died(plan, watcher, started, clock, cause):
    master = plan["master"]
    if not procs.is_alive(master):
        _fail("the gunicorn master (PID %d) died during the reload: %s; the site is down. Log:\n%s"
              % (master[0], cause, "\n".join(_failure_lines(watcher))), plan, watcher, started,
              clock, running=False)


def _workers_now(master, old, serving):
    """The master's workers now and the new ones among them, noting which serve ("Booting
    worker" is logged before the app is imported: only one in its serving loop counts).
    (None, None) when the master's children cannot be read this time."""
    try:
        current = set(procs.children(master[0]))
    except procs.ProcessGone:
        return None, None
    new = current - old
    _note_serving(new, serving)
    return current, new


def _new_gunicorn_master(plan):
    """The master that USR2 forked, once it has written its pidfile, else None."""
    try:
        pid = read_pidfile(plan["new_pidfile"])
        if (procs.ppid(pid) != plan["master"][0] or pid in plan["old_children"]
                or not procs.is_server_process(pid, "gunicorn")):
            return None
        return procs.identity(pid)
    except (ReloadError, procs.ProcessGone):
        return None


def wait_gunicorn_usr2(plan, watcher, started, clock, sleep):
    """A new master beside the old one; the old one is stopped only once the new one serves."""
    old_master = plan["master"]
    old = set(plan["old_children"])
    expected = plan["expected_workers"] or len(old)
    deadline = started + plan["timeout"]
    ack_deadline = started + min(USR2_ACK_SECONDS, plan["timeout"])
    new_master = None
    serving = set()
    retired_at = None
    while True:
        if watcher:
            watcher.poll()
        if new_master is None:
            new_master = _new_gunicorn_master(plan)
        if new_master is not None and not procs.is_alive(new_master):
            if retired_at is None:
                _fail("the new gunicorn master (PID %d) exited before its workers served: the new "
                      "code or config most likely fails to load. The old master (PID %d) still "
                      "serves the old code. Log:\n%s"
                      % (new_master[0], old_master[0], "\n".join(_failure_lines(watcher))),
                      plan, watcher, started, clock, running=True)
            _fail("the new gunicorn master (PID %d) died after the old one was told to stop; "
                  "the site is down. Log:\n%s" % (new_master[0], "\n".join(_failure_lines(watcher))),
                  plan, watcher, started, clock, running=False)
        if retired_at is None and not procs.is_alive(old_master):
            _fail("the gunicorn master (PID %d) died after USR2, before a new master served"
                  % old_master[0], plan, watcher, started, clock, running=new_master is not None)
        if new_master is not None and retired_at is None:
            try:
                workers = set(procs.children(new_master[0]))
            except procs.ProcessGone:
                workers = set()
            _note_serving(workers, serving)
            if len(workers) >= expected and workers <= serving:
                # The old master finishes its requests in flight (graceful_timeout) and exits;
                # the new one sees it gone and takes over the pidfile.
                _signal(plan, old_master, signal.SIGTERM)
                retired_at = clock()
        if retired_at is not None and not procs.is_alive(old_master):
            try:
                promoted = read_pidfile(plan["pidfile"]) == new_master[0]
            except ReloadError:
                promoted = False
            if promoted:
                facts = _facts(plan, watcher, started, clock)
                new_pids = sorted(procs.children(new_master[0]))
                facts.update(master_pid=new_master[0], old_master_pid=old_master[0],
                             old_pids=sorted(old), new_pids=new_pids,
                             ended_by="new master %d serving with %d workers, old master %d "
                                      "exited" % (new_master[0], len(new_pids), old_master[0]))
                return facts
        now = clock()
        if new_master is None and now >= ack_deadline:
            _fail("no new gunicorn master wrote %s within %.0fs of USR2 to PID %d. Log:\n%s"
                  % (plan["new_pidfile"], ack_deadline - started, old_master[0],
                     "\n".join(_failure_lines(watcher))), plan, watcher, started, clock,
                  running=True)
        if now >= deadline:
            state = ("the old master (PID %d) has not exited" % old_master[0] if retired_at
                     else "new workers %s, serving %s, expected %d"
                     % (sorted(procs.children(new_master[0])), sorted(serving), expected))
            _fail("the USR2 upgrade did not finish within %ss: %s. Both masters were left "
                  "running" % (plan["timeout"], state), plan, watcher, started, clock)
        sleep(POLL_SECONDS)


def _ttin_count(plan):
    return plan["expected_workers"] or len(plan["old_children"])


def wait_gunicorn_ttin(plan, watcher, started, clock, sleep):
    """New workers beside the old ones, same master: one TTIN per worker, each new worker serving,
    then one TTOU per old worker, which gunicorn takes from its oldest. Every old worker serves
    until all the new ones do: no request waits for the new code's import.

    A worker forked from the master imports the app through `current` (pythonpath), so it loads
    the release live now; the master's config is not read again (a changed config needs hup or
    usr2). Each signal waits for the one before to be seen, by its effect or its log line."""
    master = plan["master"]
    old = set(plan["old_children"])
    count = _ttin_count(plan)
    retire = len(old)
    deadline = started + plan["timeout"]
    serving = set()
    grown, shrunk = 1, 0
    sent_at = clock()
    # The signals the master logged handling (at loglevel info), counted as the lines come.
    handled = {"ttin": 0, "ttou": 0}

    while True:
        for line in watcher.poll() if watcher else ():
            for name in handled:
                handled[name] += line.endswith("Handling signal: " + name)
        _fail_if_master_died(plan, watcher, started, clock,
                             "a new worker most likely failed to load the new code, which stops gunicorn")
        current, new = _workers_now(master, old, serving)
        if current is None:
            continue
        now = clock()
        if grown < count:
            # The TTIN before this one was seen once the master forked for it.
            if len(new) >= grown or handled["ttin"] >= grown:
                _signal(plan, master, signal.SIGTTIN)
                grown, sent_at = grown + 1, now
            elif now - sent_at > TTIN_ACK_SECONDS:
                _fail("the gunicorn master (PID %d) did not fork a worker within %.0fs of TTIN %d of %d; "
                      "%d new workers so far. The old workers still serve"
                      % (master[0], TTIN_ACK_SECONDS, grown, count, len(new)), plan, watcher, started, clock)
        elif shrunk < retire and len(new & serving) >= count and not new - serving:
            # Every new worker serves: retire the old ones, oldest first, one TTOU at a time.
            if (shrunk == 0 or handled["ttou"] >= shrunk or len(current & old) <= retire - shrunk
                    or now - sent_at > TTIN_ACK_SECONDS):
                _signal(plan, master, signal.SIGTTOU)
                shrunk, sent_at = shrunk + 1, now
        elif shrunk == retire and not current & old and len(current) == count and not new - serving:
            facts = _facts(plan, watcher, started, clock)
            facts.update(old_pids=sorted(old), new_pids=sorted(current),
                         ended_by="%d new workers served beside the old ones, then the %d old "
                                  "workers were retired" % (len(current), len(old)))
            return facts
        if now >= deadline:
            _fail("gunicorn did not finish a ttin reload within %ss: %d of %d TTINs and %d of %d "
                  "TTOUs sent; new workers %s, serving %s, old workers still alive %s. The master "
                  "now keeps %d workers until its next reload (a HUP or USR2 sets its count back)"
                  % (plan["timeout"], grown, count, shrunk, retire, sorted(new), sorted(serving & new),
                     sorted(current & old), retire + grown - shrunk), plan, watcher, started, clock)
        sleep(POLL_SECONDS)


def _failure_lines(watcher):
    lines = _tail(watcher)
    bad = gunicorn_failures(lines)
    return (bad or lines)[-10:]


def wait_uwsgi(plan, watcher, started, clock, sleep):
    """Ends on `chain reloading complete` after the touch, with no load failure on the way."""
    master = plan["master"]
    chain = UwsgiChain()
    deadline = started + plan["timeout"]
    ack_deadline = started + min(UWSGI_ACK_SECONDS, plan["timeout"])
    while True:
        chain.feed(watcher.poll())
        chain.note_unfinished(watcher.pending())
        if not procs.is_alive(master):
            _fail("the uWSGI master (PID %d) exited during the chain reload" % master[0],
                  plan, watcher, started, clock, running=False)
        if chain.failures:
            _fail("uWSGI workers failed to load the new code during the chain reload:\n%s"
                  % "\n".join(chain.failures[:10]), plan, watcher, started, clock,
                  old_pids=chain.old_pids, new_pids=chain.new_pids)
        if chain.complete:
            facts = _facts(plan, watcher, started, clock)
            facts.update(old_pids=chain.old_pids,
                         new_pids=[pid for pid in chain.new_pids if procs.running(pid)],
                         ended_by="log: chain reloading complete")
            still = [pid for pid in chain.old_pids if procs.running(pid)]
            if still:
                _fail("uWSGI reported the chain complete but old workers %s still run" % still,
                      plan, watcher, started, clock)
            return facts
        now = clock()
        if not chain.started and now >= ack_deadline:
            _fail("uWSGI (master PID %d) did not react to %s within %.0fs: is %s set to that "
                  "path in its config?"
                  % (master[0], plan["trigger"], ack_deadline - started,
                     "master-fifo" if plan["method"] == "fifo" else "touch-chain-reload"),
                  plan, watcher, started, clock)
        if now >= deadline:
            stuck = ("; the chain is stuck waiting for worker %d" % chain.waiting_for
                     if chain.waiting_for else "")
            _fail("uWSGI did not complete the chain reload within %ss%s"
                  % (plan["timeout"], stuck), plan, watcher, started, clock,
                  old_pids=chain.old_pids, new_pids=chain.new_pids)
        sleep(POLL_SECONDS)


def wait_uwsgi_full(plan, watcher, started, clock, sleep):
    """Ends once the new workers have all loaded the app (after the master's re-exec if full)."""
    master = plan["master"]
    old = set(plan["old_children"])
    expected = plan["expected_workers"] or len(old)
    full = UwsgiFull(master_reexec=plan["method"] == "full")
    deadline = started + plan["timeout"]
    while True:
        full.feed(watcher.poll())
        if not procs.is_alive(master):
            _fail("the uWSGI master (PID %d) exited during the full reload: a pyuwsgi in a "
                  "virtualenv needs binary-path set to the virtualenv's python" % master[0],
                  plan, watcher, started, clock, running=False)
        if full.failures:
            _fail("uWSGI workers failed to load the new code during the %s reload:\n%s"
                  % (plan["method"], "\n".join(full.failures[:10])), plan, watcher, started, clock)
        if full.respawned:
            try:
                current = set(procs.children(master[0]))
            except procs.ProcessGone:
                current = set()
            # Without lazy-apps the master loads the app once and forks loaded workers.
            loaded = current <= full.ready_pids or master[0] in full.ready_pids
            if current and not current & old and len(current) >= expected and loaded:
                facts = _facts(plan, watcher, started, clock)
                facts.update(old_pids=sorted(old), new_pids=sorted(current),
                             ended_by="%s%d new workers loaded the app"
                             % ("master re-executed, " if plan["method"] == "full" else "",
                                len(current)))
                return facts
        if not full.started and clock() >= started + min(UWSGI_ACK_SECONDS, plan["timeout"]):
            _fail("uWSGI (master PID %d) did not react to %s within %.0fs"
                  % (master[0], plan["trigger"], min(UWSGI_ACK_SECONDS, plan["timeout"])),
                  plan, watcher, started, clock)
        if clock() >= deadline:
            _fail("uWSGI did not finish its %s reload within %ss (%s)"
                  % (plan["method"], plan["timeout"],
                     "workers still loading" if full.respawned
                     else "still waiting for the old workers to finish"),
                  plan, watcher, started, clock)
        sleep(POLL_SECONDS)


def wait_uvicorn(plan, watcher, started, clock, sleep):
    """uvicorn replaces its workers one at a time, each new one ready before the old one is
    stopped. Ends once no old worker is left, as many new ones run and each logged its start (after
    its import); uvicorn's own line for a new worker not ready in time, which keeps the old one and
    abandons the rest of the restart, fails it, as does a master that stopped."""
    master = plan["master"]
    old = set(plan["old_children"])
    expected = plan["expected_workers"] or len(old)
    restart = UvicornRestart()
    deadline = started + plan["timeout"]
    ack_deadline = started + min(UVICORN_ACK_SECONDS, plan["timeout"])
    while True:
        restart.feed(watcher.poll())
        if not procs.is_alive(master):
            _fail("the uvicorn master (PID %d) stopped during the reload; the site is down. Log:\n%s"
                  % (master[0], "\n".join(_tail(watcher)[-10:])), plan, watcher, started, clock, running=False)
        try:
            current = set(procs.workers(master[0], "uvicorn"))
        except procs.ProcessGone:
            current = set()
        if restart.aborted:
            _fail("uvicorn gave the restart up: \"%s\" The old code still serves in workers %s (workers now "
                  "%s). A new worker must be ready within uvicorn's --timeout-worker-healthcheck, and one that "
                  "cannot import the app never is. Log:\n%s"
                  % (restart.aborted, sorted(current & old), sorted(current), "\n".join(_tail(watcher)[-10:])),
                  plan, watcher, started, clock, old_pids=sorted(old), new_pids=sorted(current - old))
        new = current - old
        if not current & old and len(current) >= expected and new <= restart.started_pids:
            facts = _facts(plan, watcher, started, clock)
            facts.update(old_pids=sorted(old), new_pids=sorted(current),
                         ended_by="%d new workers started, each before an old one was stopped" % len(current))
            return facts
        now = clock()
        if not restart.acknowledged and now >= ack_deadline:
            _fail("uvicorn (master PID %d) did not log that it restarts its workers within %.0fs of the "
                  "SIGHUP: is it uvicorn 0.51 or later, at log level info?" % (master[0], ack_deadline - started),
                  plan, watcher, started, clock)
        if now >= deadline:
            _fail("uvicorn did not finish replacing its workers within %ss: old workers still running %s, "
                  "new workers %s (expected %d)" % (plan["timeout"], sorted(current & old), sorted(new), expected),
                  plan, watcher, started, clock, old_pids=sorted(old), new_pids=sorted(new))
        sleep(POLL_SECONDS)


WAITERS = {"hup": wait_gunicorn, "usr2": wait_gunicorn_usr2, "ttin": wait_gunicorn_ttin, "chain": wait_uwsgi,
           "fifo": wait_uwsgi, "full": wait_uwsgi_full, "workers": wait_uwsgi_full}


def wait_granian(plan, watcher, started, clock, sleep):
    """Granian replaces its workers one at a time: a new worker-N, then the old one is stopped a
    fixed respawn interval later. Ends once no old worker is left, as many new ones run and each
    logged "Started worker-N" (written once it has loaded the app). A worker that exits unbidden,
    or Granian's crash loop, fails it; an old worker stopped before its successor had started is
    reported, since requests waited meanwhile: the respawn interval is shorter than the app's start."""
    master = plan["master"]
    old = set(plan["old_children"])
    expected = plan["expected_workers"] or len(old)
    respawn = GranianRespawn()
    deadline = started + plan["timeout"]
    ack_deadline = started + min(UVICORN_ACK_SECONDS, plan["timeout"])
    while True:
        respawn.feed(watcher.poll())
        if respawn.failures or not procs.is_alive(master):
            _fail("Granian (master PID %d) lost a worker during the reload%s:\n%s"
                  % (master[0], "" if procs.is_alive(master) else " and stopped; the site is down",
                     "\n".join(_tail(watcher)[-10:])), plan, watcher, started, clock,
                  running=procs.is_alive(master))
        try:
            current = set(procs.workers(master[0], "granian"))
        except procs.ProcessGone:
            current = set()
        new = current - old
        if not current & old and len(current) >= expected and new <= respawn.started_pids:
            facts = _facts(plan, watcher, started, clock)
            facts.update(old_pids=sorted(old), new_pids=sorted(current), stopped_early=respawn.stopped_early,
                         ended_by="%d new workers started, one at a time" % len(current))
            if respawn.stopped_early:
                facts["warnings"] = [
                    "Granian stopped old worker %s before its successor had loaded the app: requests waited "
                    "meanwhile. Its respawn interval is shorter than the app takes to start; set "
                    "--respawn-interval longer" % ", ".join("worker-%d" % idx for idx in respawn.stopped_early)]
            return facts
        now = clock()
        if not respawn.acknowledged and now >= ack_deadline:
            _fail("Granian (master PID %d) did not log that it respawns its workers within %.0fs of the SIGHUP: "
                  "is it Granian 2 or later, logging at level info?" % (master[0], ack_deadline - started),
                  plan, watcher, started, clock)
        if now >= deadline:
            _fail("Granian did not finish replacing its workers within %ss: old workers still running %s, new "
                  "workers %s (expected %d), of which started %s" % (
                      plan["timeout"], sorted(current & old), sorted(new), expected,
                      sorted(new & respawn.started_pids)), plan, watcher, started, clock)
        sleep(POLL_SECONDS)


def _waiter(plan):
    return {"uvicorn": wait_uvicorn, "granian": wait_granian}.get(plan["server"]) or WAITERS[plan["method"]]


def reload_server(params, check_mode=False, clock=time.monotonic, sleep=time.sleep):
    """Reload gracefully and wait for the end; the module's whole job, as a function.

    In check mode every refusal still happens, but nothing is signalled or touched.
    """
    plan = prepare(params)
    if check_mode:
        if plan["method"] in FIFO_COMMANDS:
            _write_fifo(plan)
        return {
            "changed": True, "reloaded": False, "server": plan["server"],
            "method": plan["method"], "master_pid": plan["master"][0],
            "old_pids": plan["old_children"], "new_pids": [], "duration_s": 0.0,
            "log_file": plan["log_file"], "log_lines": [],
            "msg": "would reload %s (master PID %d) by %s"
                   % (plan["server"], plan["master"][0], plan["method"]),
        }
    watcher = LogWatcher(plan["log_file"]) if plan["log_file"] else None
    started = clock()
    started_at = time.time()
    action = plan["trigger"] = trigger(plan)
    facts = _waiter(plan)(plan, watcher, started, clock, sleep)
    facts.update(changed=True, reloaded=True, trigger=action, started_at=round(started_at, 3),
                 msg="%s reloaded by %s in %.2fs: workers %s -> %s" % (
                     plan["server"], plan["method"], facts["duration_s"],
                     facts["old_pids"], facts["new_pids"]))
    return facts


def server_status(params):
    """Whether the server's master runs; never acts."""
    try:
        master = find_server(params)
    except ReloadError as exc:
        return {"changed": False, "running": False, "reason": exc.msg,
                "master_pid": exc.facts.get("master_pid"), "workers": [],
                "foreign": exc.facts.get("foreign", False)}
    return {"changed": False, "running": True, "master_pid": master[0],
            "workers": procs.workers(master[0], params["server"]), "reason": "", "foreign": False}


# SIGTERM means "reload brutally" to uWSGI 2.0 without die-on-term; SIGQUIT stops it either way,
# and gracefully with the role's config (its hook-master-start), where SIGINT stays brutal.
STOP_SIGNALS = {"gunicorn": signal.SIGTERM, "uwsgi": signal.SIGQUIT, "uvicorn": signal.SIGTERM, "granian": signal.SIGTERM}


def stop_server(params, check_mode=False, clock=time.monotonic, sleep=time.sleep):
    """Stop the master and wait for it to exit; a server that is not running is left alone."""
    status = server_status(params)
    if not status["running"]:
        return dict(status, changed=False, stopped=False)
    if check_mode:
        return dict(status, changed=True, stopped=False)
    master = procs.identity(status["master_pid"])
    try:
        procs.send_signal(master, STOP_SIGNALS[params["server"]])
    except procs.ProcessGone:
        return dict(status, changed=False, stopped=False, running=False)
    deadline = clock() + float(params.get("timeout") or 120)
    while procs.is_alive(master):
        if clock() >= deadline:
            raise ReloadError("the %s master (PID %d) did not stop within %ss"
                              % (params["server"], master[0], params.get("timeout")),
                              master_pid=master[0])
        sleep(POLL_SECONDS)
    return dict(status, changed=True, stopped=True, running=False)


def start_server(params, user, check_mode=False, clock=time.monotonic, sleep=time.sleep):
    """Start a server that no service manager runs, by params["command"] run as `user` (a pwd
    entry; the privileges are dropped in the child, so no sudo is needed), then wait until its
    master runs with its workers. A server that runs already is left alone."""
    status = server_status(params)
    if status["running"]:
        return dict(status, changed=False, started=False)
    if status["foreign"]:
        raise ReloadError(status["reason"], master_pid=status["master_pid"], foreign=True)
    if check_mode:
        return dict(status, changed=True, started=False)
    timeout = float(params.get("timeout") or 120)
    argv = params["command"]
    try:
        code, output = procs.run_as(argv, user, params.get("chdir") or "/", timeout)
    except OSError as exc:
        raise ReloadError("the %s did not start: %s: %s" % (params["server"], argv[0], exc.strerror or exc))
    if code != 0:
        raise ReloadError("the %s did not start: `%s` as %s %s" % (
            params["server"], " ".join(argv), user.pw_name,
            "took longer than %gs" % timeout if code is None else "exited %d" % code), log_lines=output)
    wanted = max(int(params.get("expected_workers") or 1), 1)
    deadline = clock() + timeout
    while True:
        status = server_status(params)
        if status["running"] and len(status["workers"]) >= wanted:
            return dict(status, changed=True, started=True)
        if clock() >= deadline:
            log = params.get("log_file")
            raise ReloadError("the %s was started as %s but %s within %gs: %s" % (
                params["server"], user.pw_name,
                "has %d of %d workers" % (len(status["workers"]), wanted) if status["running"] else "no master runs",
                timeout, status["reason"] or "see its log"),
                log_file=log, log_lines=server_log.tail(log) if log else [], **({"master_pid": status["master_pid"]} if status["running"] else {}))
        sleep(POLL_SECONDS)
