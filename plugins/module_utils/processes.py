# -*- coding: utf-8 -*-
"""Process inspection through /proc: who a PID is, its children, whether it still lives; and
running a command as another user.

Kept free of Ansible imports so that the tests can drive it against real servers.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time


class ProcessGone(Exception):
    """The process no longer exists (or is a zombie)."""


def _read(path, mode="r"):
    try:
        with open(path, mode) as handle:
            return handle.read()
    except (FileNotFoundError, ProcessLookupError):
        raise ProcessGone(path)


def stat_fields(pid):
    """Fields of /proc/PID/stat after the command name, which may itself hold spaces."""
    raw = _read("/proc/%d/stat" % pid)
    return raw[raw.rindex(")") + 2:].split()


def cgroups(pid):
    """The cgroup paths of PID, one per hierarchy, from /proc/PID/cgroup (which the kernel writes)."""
    return [line.split(":", 2)[2] for line in _read("/proc/%d/cgroup" % pid).splitlines() if line.count(":") >= 2]


def credentials(pid):
    """(effective uid, set of gids) of PID, from /proc/PID/status."""
    uid, gids = None, set()
    for line in _read("/proc/%d/status" % pid).splitlines():
        key, colon, value = line.partition(":")
        if not colon:
            continue
        if key == "Uid":
            uid = int(value.split()[1])
        elif key == "Gid":
            gids.add(int(value.split()[1]))
        elif key == "Groups":
            gids.update(int(gid) for gid in value.split())
    return uid, gids


def identity(pid):
    """(pid, start time in clock ticks): survives PID reuse, unlike the PID alone."""
    return pid, int(stat_fields(pid)[19])


def is_alive(ident):
    pid, started = ident
    try:
        fields = stat_fields(pid)
    except ProcessGone:
        return False
    return fields[0] != "Z" and int(fields[19]) == started


def send_signal(ident, signum):
    """Signal the process that `ident` (pid, start time) names, and no other. Through a pidfd
    where the kernel has them: the descriptor holds that process, so a PID reused between the
    check and the signal is never signalled. ProcessGone if it has exited."""
    pid = ident[0]
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        raise ProcessGone(pid)
    except (AttributeError, OSError):
        fd = None  # no pidfd here (an old kernel or Python): the check right before the kill stays
    try:
        if not is_alive(ident):
            raise ProcessGone(pid)
        if fd is None:
            os.kill(pid, signum)
        else:
            signal.pidfd_send_signal(fd, signum)
    finally:
        if fd is not None:
            os.close(fd)


def running(pid):
    """Whether PID runs; one that exited but is not reaped yet (a zombie) does not."""
    try:
        return stat_fields(pid)[0] != "Z"
    except ProcessGone:
        return False


def ppid(pid):
    return int(stat_fields(pid)[1])


def argv(pid):
    raw = _read("/proc/%d/cmdline" % pid, "rb")
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def environ(pid):
    """PID's environment, or {} when it cannot be read."""
    try:
        raw = _read("/proc/%d/environ" % pid, "rb")
    except (ProcessGone, OSError):
        return {}
    return dict(part.decode("utf-8", "replace").partition("=")[::2] for part in raw.split(b"\0") if part)


def describe(pid):
    try:
        return " ".join(argv(pid)) or "[%s]" % _read("/proc/%d/comm" % pid).strip()
    except ProcessGone:
        return "<gone>"


def is_server_process(pid, server):
    """Whether PID runs gunicorn, uWSGI or uvicorn: by its process title or its first two argv words.

    A title set with setproctitle replaces argv ("gunicorn: master [app]"), a plain
    start keeps it ("/venv/bin/python /venv/bin/gunicorn -c conf.py main:app").
    """
    try:
        words = argv(pid)
    except ProcessGone:
        return False
    if not words:
        return False
    needle = server.lower()
    if needle in words[0].lower().split(":")[0]:
        return True
    return any(needle in os.path.basename(word).lower() for word in words[:2])


def children(pid):
    """Live child PIDs of PID, from every thread's children list, else by scanning /proc."""
    task_dir = "/proc/%d/task" % pid
    try:
        tasks = os.listdir(task_dir)
    except FileNotFoundError:
        raise ProcessGone(task_dir)
    found = set()
    have_lists = False
    for task in tasks:
        try:
            text = _read("%s/%s/children" % (task_dir, task))
        except ProcessGone:
            continue
        except OSError:
            break
        have_lists = True
        found.update(int(word) for word in text.split())
    if not have_lists:
        found = set(_scan_children(pid))
    return sorted(child for child in found if running(child))


def workers(pid, server):
    """The server's workers under master PID. uvicorn's are the children its multiprocessing
    spawned with --multiprocessing-fork; its resource tracker, a child too, serves nothing."""
    found = children(pid)
    if server != "uvicorn":
        return found
    serving = []
    for child in found:
        try:
            if "--multiprocessing-fork" in argv(child):
                serving.append(child)
        except ProcessGone:
            continue
    return serving


def _scan_children(parent):
    for pid in pids():
        try:
            if ppid(pid) == parent:
                yield pid
        except ProcessGone:
            continue


# A wall-clock stamp is above this; gunicorn's heartbeat writes time.monotonic(), far below it.
_WALL_CLOCK_FLOOR = 1e9


def gunicorn_worker_ready(pid):
    """Whether a gunicorn worker has loaded the app and entered its serving loop.

    Each worker holds one unlinked heartbeat file (prefix `wgunicorn-`). The file is created
    with a wall-clock mtime, and the worker's first notify(), made only from its run loop,
    stamps it with time.monotonic(). Just after fork the worker still holds its siblings'
    files, already stamped, until it closes them; a worker that failed to load the app
    closes its own on the way out. Neither is ready. None when it cannot be seen.
    """
    # A look that the worker's user cut short says nothing: not ready, looked at again next poll.
    stamps = _as_owner_of(pid, _heartbeat_stamps, interfered=[])
    if stamps is None:
        return None
    return len(stamps) == 1 and stamps[0] < _WALL_CLOCK_FLOOR


def _heartbeat_stamps(pid):
    fd_dir = "/proc/%d/fd" % pid
    stamps = []
    for fd in os.listdir(fd_dir):
        link = "%s/%s" % (fd_dir, fd)
        try:
            if os.path.basename(os.readlink(link)).startswith("wgunicorn-"):
                stamps.append(os.stat(link).st_mtime)
        except FileNotFoundError:
            continue
    return stamps


# How long a child forked to look as another user may take: that user can stop or kill it.
OWNER_LOOK_SECONDS = 2.0


def _as_owner_of(pid, look, interfered=None):
    """look(pid), run as the user that owns PID.

    Reading another user's /proc/PID/fd links needs CAP_SYS_PTRACE, which root lacks in
    a container; the process's own user may always read them. None when neither works.
    The child that looks runs as that user, who may stop or kill it: then `interfered`, never
    a result the caller would take for a good one, and a stopped child is killed after
    OWNER_LOOK_SECONDS.
    """
    try:
        return look(pid)
    except PermissionError:
        pass
    except OSError:
        return None
    try:
        owner = os.stat("/proc/%d" % pid)
    except OSError:
        return None
    if os.geteuid() != 0 or owner.st_uid == 0:
        return None
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked child
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(owner.st_gid)
            os.setuid(owner.st_uid)
            os.write(write_end, json.dumps(look(pid)).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    status = _reap(child, OWNER_LOOK_SECONDS)
    with os.fdopen(read_end, "rb") as handle:
        data = handle.read() if status == 0 else b""
    if status != 0 or not data:
        return interfered
    try:
        return json.loads(data.decode())
    except ValueError:
        return interfered


def _reap(child, seconds):
    """The exit status of child, killed first if it has not ended within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            return status
        if time.monotonic() >= deadline:
            os.kill(child, signal.SIGKILL)
            return os.waitpid(child, 0)[1] or -1
        time.sleep(0.005)


def pids():
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def masters(server):
    """PIDs running the server whose parent does not: its masters, on this host."""
    found = []
    for pid in pids():
        try:
            if is_server_process(pid, server) and not is_server_process(ppid(pid), server):
                found.append(pid)
        except ProcessGone:
            continue
    return found


def _readlink(path):
    try:
        return os.readlink(path)
    except FileNotFoundError:
        raise ProcessGone(path)


def cwd(pid):
    """PID's working directory, against which the relative paths on its command line resolve."""
    return _readlink("/proc/%d/cwd" % pid)


def command_line(pid):
    """(argv, cwd) of PID, or None when it has gone or they cannot be read. The cwd link of
    another user's process is read as that user where root may not (in a container)."""
    try:
        words = argv(pid)
    except (ProcessGone, OSError):
        return None
    try:
        where = _as_owner_of(pid, cwd)
    except ProcessGone:
        return None
    return None if where is None else (words, where)


def executable(pid):
    """The program PID runs (for a script, its interpreter), or None when it cannot be read."""
    try:
        return _readlink("/proc/%d/exe" % pid)
    except (ProcessGone, OSError):
        return None


def stderr_path(pid):
    """What PID's standard error points at (a file, "pipe:[...]", "/dev/null"), or None."""
    try:
        return _readlink("/proc/%d/fd/2" % pid)
    except (ProcessGone, OSError):
        return None


def stderr_target(pid):
    """The path behind PID's standard error if it is a regular file, else None."""
    target = stderr_path(pid)
    if not target or target.endswith(" (deleted)") or not os.path.isfile(target):
        return None
    return target


def run_as(argv, user, cwd, timeout, tail_bytes=1 << 16, env=None):
    """Run argv as `user` (a pwd entry) with that user's groups only, in a session of its own (no
    terminal of root's), its output in a file of which only the end is read; killed with all it
    started after `timeout` seconds. `env` adds to a minimal environment of root's choosing.
    Returns (exit code, or None on timeout; last output lines)."""
    kwargs = {}
    if user.pw_uid != os.geteuid():
        # Dropped in the child alone, before exec: the app's code never runs with root's ids.
        kwargs = {"user": user.pw_uid, "group": user.pw_gid,
                  "extra_groups": os.getgrouplist(user.pw_name, user.pw_gid)}
    env = dict({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": user.pw_dir, "LANG": "C.UTF-8", "USER": user.pw_name},
               **(env or {}))
    with tempfile.TemporaryFile() as output:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
        output.seek(max(0, output.seek(0, os.SEEK_END) - tail_bytes))
        text = output.read().decode("utf-8", "replace")
    return code, text.strip().splitlines()[-12:]
