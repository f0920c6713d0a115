# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a deploy sees on a host before it changes anything, and what it refuses there.

Shared by wsgi_release_info (read only) and wsgi_lock (which looks, refuses, then locks in the
same call: the bench measured the round trip a separate lock costs a one-line change)."""
from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import time

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import app_files, releases, server_log
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import (
    MASTER_ARGUMENT_SPEC, SERVER_REQUIRED_IF, ReloadError, server_status)
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import prepare as prepare_reload

LOGINLESS_SHELLS = ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false")
# What the role puts into an app's root (plan.layout), and a file system's own: a root holding
# anything else is not the role's.
ROOT_NAMES = frozenset(("releases", "venvs", "venv", "current", "etc", "log", "run", "shared", releases.RECORD,
                        ".deploy.lock", ".drained", "lost+found"))
# Left by a write cut off halfway (releases._write_atomically, _symlink_atomically).
ROOT_LEFTOVERS = ("current.", "venv.", releases.RECORD + ".")

# The options of what a deploy looks at; wsgi_release_info and wsgi_lock take them all.
ARGUMENT_SPEC = {
    "root": {"type": "path"},
    "dest": {"type": "path"},
    "exclude": {"type": "list", "elements": "str", "default": []},
    "inputs_digest": {"type": "str", "default": ""},
    "venv_key": {"type": "str", "default": "", "no_log": False},
    "file_digests": {"type": "dict", "default": {}},
    "server": {"type": "str", "choices": ["gunicorn", "uwsgi", "uvicorn", "granian"]},
    "pidfile": {"type": "path"},
    "reload_file": {"type": "path"},
    **MASTER_ARGUMENT_SPEC,
    "method": {"type": "str", "choices": ["hup", "usr2", "ttin", "chain", "full", "fifo", "workers"]},
    "reload_timeout": {"type": "float", "default": 120},
    "fifo_file": {"type": "path"},
    "log_file": {"type": "path"},
    "unit": {"type": "str"},
    "venv_python": {"type": "path"},
    "require_rsync": {"type": "bool", "default": False},
    "new_release_name": {"type": "str", "default": ""},
    "app_user": {"type": "str"},
    "drain_mark": {"type": "path"},
}
REQUIRED_IF = SERVER_REQUIRED_IF


class Refused(Exception):
    """What the host shows that a deploy must not go on with; facts: what was seen."""

    def __init__(self, msg, **facts):
        super().__init__(msg)
        self.msg, self.facts = msg, facts


def systemd_runs():
    """Whether systemd is this host's service manager (as sd_booted() decides)."""
    return os.path.isdir("/run/systemd/system")


def main_pid(module, unit):
    """The main PID systemd has for unit, 0 when it runs none."""
    systemctl = module.get_bin_path("systemctl", required=True)
    code, out, err = module.run_command([systemctl, "show", "--property=MainPID", "--value", unit])
    if code != 0:
        module.fail_json(msg="systemctl show %s failed: %s" % (unit, err.strip()))
    return int(out.strip() or 0)


def check_names(params):
    """A release or virtualenv name is one directory entry, never a path out of its parent."""
    for key, parent in (("release", "releases"), ("venv_key", "venvs"), ("new_release_name", "releases")):
        name = params.get(key)
        if name and (name in (".", "..") or "/" in name or "\0" in name or name.endswith(releases.PARTIAL)):
            return "%s must be the name of a directory in %s/, not %r" % (key, parent, name)
    for relpath in params.get("shared_paths") or ():
        parts = relpath.strip("/").split("/")
        if relpath.startswith("/") or not relpath.strip("/") or ".." in parts:
            return "each of shared_paths must be a path inside the release, relative to it, not %r" % relpath
    return ""


def live_view(params):
    """What is live and whether it is the deploy of inputs_digest. Without a root (a server set up by
    hand) there is no release: its record, beside its directory, vouches for what that directory holds."""
    view = releases.inspect(params["root"] or "/nonexistent", params["inputs_digest"], params["venv_key"],
                            params["file_digests"])
    if not params["root"] and params["dest"] and params["inputs_digest"] and os.path.isdir(params["dest"]):
        view.update(releases.inspect_dest(params["dest"], params["inputs_digest"], params["exclude"]))
    return view


def note_status(result, params):
    """With a server, whether its master runs; a deploy whose server does not run is not unchanged."""
    if params["server"]:
        result["status"] = server_status(params)
        if not result["status"]["running"] and result.get("unchanged"):
            result.update(unchanged=False, reasons=["the server is not running"])


def look(params, main_pid):
    """Everything a deploy reads before it changes anything, and every refusal (problems), each in
    words with its fix. main_pid(unit) asks systemd for a unit's main PID."""
    result = live_view(params)
    # The name a release made now gets: sorted by time, on the server's clock.
    now = time.time()
    result["stamp"] = params["new_release_name"] or (
        time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + "%06dZ" % int(now % 1 * 1e6))
    note_status(result, params)
    if params["dest"]:
        result["dest_is_dir"] = os.path.isdir(params["dest"])
    if params["unit"]:
        result["main_pid"] = main_pid(params["unit"]) if systemd_runs() else 0
    result["problems"] = refusals(params, result)
    if params["log_file"]:
        # The server's log may print the app's settings: those of the live release are masked.
        result["log_tail"] = releases.masked(server_log.tail(params["log_file"]), params["root"])
    return result


def refusals(params, result):
    """What the server shows that the deploy must not go on with; each leaves everything as it was."""
    status, found = result.get("status") or {}, []
    if status.get("foreign"):
        # A stale pidfile naming some other live process: never signalled, never taken for the server.
        found.append("%s. Point %s at the server's master, or remove it if the server is not running."
                     % (status["reason"], params["pidfile"]))
    if params["unit"] and not status.get("running") and result.get("main_pid"):
        found.append("systemd runs %s (main PID %d), but the role cannot find its master: %s. A reload would "
                     "not reach it." % (params["unit"], result["main_pid"], status.get("reason")))
    if params["dest"] and not params["root"]:
        found.extend(_by_hand_refusals(params, result, status))
    deployer = result["user"]
    if params["root"]:
        found.extend(_app_file_refusals(params))
        found.extend(_foreign_root_refusals(params["root"]))
    if params["drain_mark"]:
        try:
            result["drain_left"] = releases.mark_left(params["drain_mark"])
        except releases.ReleaseError as exc:
            # Taken for a deploy's, it would put back a host that an operator took out of the balancer.
            found.append("The drain mark %s: a deploy that finds one puts its host back into the balancer. Someone "
                         "who can write its directory (the app's user, beside a directory set up by hand) may have "
                         "made it: remove it." % exc)
    if params["unit"] and not systemd_runs():
        found.append("this host does not run systemd (it has no /run/systemd/system), which wsgi_deploy_service_manager "
                     "systemd needs: set wsgi_deploy_service_manager: none to run the server as a daemon.")
    # Packages the role does not install must be there before it makes anything.
    if params["require_rsync"] and not shutil.which("rsync", path=os.environ.get("PATH", "") + ":/usr/bin:/bin"):
        found.append("rsync is not installed on this host, and the code is synced with it: install it, or set "
                     "wsgi_deploy_install_packages: true.")
    found.extend(_release_name_refusals(params, result))
    if params["venv_python"] and not result.get("venv_ready"):
        why = _cannot_make_venv(params["venv_python"])
        if why:
            found.append("%s cannot make the app's virtualenv here (%s): install python3-venv, or set "
                         "wsgi_deploy_install_packages: true." % (params["venv_python"], why))
    if params["unit"] and deployer != "root":
        found.append("wsgi_deploy_service_manager systemd installs a unit and needs root: use become: true, or "
                     "wsgi_deploy_service_manager none to run the server as %s." % deployer)
    if params["root"] and params["app_user"] and deployer not in ("root", params["app_user"]):
        found.append("without root the server can only run as the connecting user %s: set wsgi_deploy_user to "
                     "it, or use become: true." % deployer)
    if params["root"] and params["app_user"] and deployer == "root" and params["app_user"] != deployer:
        found.extend(_app_user_refusals(params["app_user"], params["root"]))
    return found


def _by_hand_refusals(params, result, status):
    found = []
    if params["server"] and not status.get("running"):
        found.append("the %s set up by hand is not running, and the role does not start a server it does "
                     "not manage: %s." % (params["server"], status.get("reason")))
    elif params["server"] and params["method"]:
        # Its code is synced in place: a reload found impossible after the sync would leave
        # new code on disk and old code served.
        try:
            prepare_reload(dict(params, timeout=params["reload_timeout"]))
        except ReloadError as exc:
            found.append("the %s set up by hand cannot be reloaded by %s: %s." % (params["server"], params["method"], exc.msg))
    if not result.get("dest_is_dir"):
        found.append("wsgi_deploy_dest %s is not a directory: a server set up by hand already imports its "
                     "app from there." % params["dest"])
    return found


def _cannot_make_venv(python):
    """Why `python -m venv` would fail here (its stdlib's venv or ensurepip missing), or ""."""
    try:
        done = subprocess.run([python, "-c", "import ensurepip, venv"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return "" if done.returncode == 0 else ((done.stderr.strip().splitlines() or ["exit %d" % done.returncode])[-1])


def _release_name_refusals(params, result):
    """A release name chosen elsewhere must sort after every release here: rollbacks and pruning
    take the newest by name, and a name already there, even cut off, is another deploy's."""
    name = params["new_release_name"]
    if not name or not params["root"] or result.get("unchanged"):
        return []
    here = [entry[:-len(releases.PARTIAL)] if entry.endswith(releases.PARTIAL) else entry
            for entry in releases.release_names(params["root"])]
    later = sorted(entry for entry in here if entry >= name)
    if not later:
        return []
    return ["The release id %s does not sort after release %s, which %s already holds: releases sort by name. "
            "The controller's clock may be behind this host's, or the id was used before: choose a later "
            "wsgi_deploy_release_id, or leave it empty for the host's own clock." % (name, later[-1], params["root"])]


def _app_file_refusals(params):
    """The server's log, uWSGI's touch file and master FIFO lie in directories of the app's user: one
    swapped for a link or a file of another kind is refused before anything changes, not met halfway
    through the reload."""
    found = []
    unsafe = _unsafe_file(params["log_file"])
    if unsafe:
        found.append("The server's log %s: root reads no such file, and the reload would not see its end. The app's "
                     "user (log/ is its own) may have put it there: make it a regular file again." % unsafe)
    unsafe = _unsafe_file(params["reload_file"]) if params["server"] == "uwsgi" else None
    if unsafe:
        found.append("The reload's touch file %s: root touches no such file, and uWSGI would not reload. The app's "
                     "user (run/ is its own) may have put it there: remove it, and the deploy makes it again." % unsafe)
    fifo = params["fifo_file"]
    if fifo and os.path.lexists(fifo) and not stat.S_ISFIFO(os.lstat(fifo).st_mode):
        found.append("The master FIFO %s is not a FIFO: root writes nothing to it. The app's user (run/ is its own) "
                     "may have put it there: remove it and restart the server, which makes it again." % fifo)
    return found


def _unsafe_file(path):
    """Why root would not use the file at path (app_files.UnsafeFile: a link, not a regular file,
    more than one link), or None. An absent or unreadable one is the reload's to report, if it needs it."""
    if not path:
        return None
    try:
        app_files.regular_stat(path)
    except app_files.UnsafeFile as exc:
        return exc
    except OSError:
        pass
    return None


def _foreign_root_refusals(root):
    """A root that exists and holds what the role did not put there (a user's home, another app):
    Prepare would make it the app's, changing its owner and mode."""
    try:
        entries = os.listdir(root)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        return ["wsgi_deploy_root %s cannot be read: %s." % (root, exc.strerror)]
    foreign = sorted(name for name in entries if name not in ROOT_NAMES and not name.startswith(ROOT_LEFTOVERS))
    if not foreign:
        return []
    shown = ", ".join(foreign[:5]) + (" and %d more" % (len(foreign) - 5) if len(foreign) > 5 else "")
    return ["wsgi_deploy_root %s already holds what the role did not make (%s): the role would make it the app's "
            "root, owned by the deploying user, and change its mode. Choose a new or empty directory." % (root, shown)]


def _app_user_refusals(name, root):
    """An existing user that the role would damage by making it the app's system user."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return []  # the role makes it
    found = []
    if entry.pw_uid == 0:
        found.append("wsgi_deploy_user %s has uid 0: the app must run as a user that is not root." % name)
    elif entry.pw_shell not in LOGINLESS_SHELLS:
        found.append("wsgi_deploy_user %s is an existing login user (shell %s, home %s): the role would take its "
                     "login away and make %s its home. Choose a user of the app's own." % (name, entry.pw_shell, entry.pw_dir, root))
    elif os.path.normpath(entry.pw_dir) != os.path.normpath(root):
        # A service account of the system's (www-data, daemon): other services run as it, and its home is theirs.
        found.append("wsgi_deploy_user %s is an existing account whose home is %s, not the app's root %s: other "
                     "services may run as it, and the role would make %s its home. Choose a user of the app's own."
                     % (name, entry.pw_dir, root, root))
    try:
        group = grp.getgrgid(entry.pw_gid).gr_name
    except KeyError:
        group = str(entry.pw_gid)
    if group != name:
        found.append("wsgi_deploy_user %s has the group %s: the role gives the app's files to the group named after "
                     "its user, which %s is not in. Choose a user of the app's own." % (name, group, name))
    return found


def holder_text(holder):
    if not holder:
        return "no holder named in it"
    return "ansible-playbook PID %s on %s, since %s" % (
        holder.get("pid", "?"), holder.get("controller", "?"), holder.get("since", "an unknown time"))


def take(params, check_mode, warn):
    """Take the lock at params["path"] or raise Refused saying who holds it; under it, what is live
    (with a root or a dest). warn(text) reports a lock broken."""
    result = releases.take_lock(params["path"], params["holder"], params["controller_pids"], params["wait_seconds"],
                                check_mode)
    if result["broke"]:
        warn("broke the lock %s left by an interrupted deploy (%s), which no longer runs"
             % (params["path"], holder_text(result["broke"])))
    if not result["taken"]:
        waited = (params["path"], holder_text(result["holder"]), "%g" % params["wait_seconds"])
        raise Refused(result["error"] or (
            "another deploy holds the lock %s (%s); waited %ss. If no deploy is running, remove "
            "that directory. Nothing was changed." % waited), **result)
    if params["root"] or params["dest"]:
        # Seen under the lock: another deploy may have changed what is live meanwhile.
        result.update(live_view(params))
    return result


def look_then_lock(params, check_mode, main_pid, warn):
    """Preflight in one call: look, refuse what the deploy cannot reach safely, and take the lock
    unless the deploy has nothing to do or the host has no place for it yet (Prepare makes it)."""
    result = look(params, main_pid)
    result["taken"] = False
    if result["problems"]:
        raise Refused("%s Nothing was changed." % " ".join(result["problems"]), **result)
    # A deploy in check mode changes nothing, the lock included: what it reads may change meanwhile.
    if result["unchanged"] or check_mode or not os.path.isdir(os.path.dirname(params["path"]) or "/"):
        return result
    result.update(take(params, check_mode, warn))
    # Read again under the lock: the deploy that held it may have started or stopped the server.
    note_status(result, params)
    if result["unchanged"]:
        # The deploy that held the lock made these inputs live: nothing is left to do.
        releases.drop_lock(params["path"])
        result["taken"] = False
    return result
