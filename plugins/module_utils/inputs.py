# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What is wrong with a deploy's inputs, all of it at once, before anything changes on a server.

The role's argument specs check each variable's type and choices; this checks what a spec cannot
say: ranges, paths, patterns, and how one variable fits another. It runs on the controller (the
action plugin wsgi_plan) and reads nothing but the variables and the controller's own files, so
that a unit test can give it any input in a millisecond. Each problem is one sentence that says
what to set; a value the user gave is quoted, except the environment's and the settings', which
may be secrets.
"""
from __future__ import annotations

import difflib
import json
import os
import re
import shutil

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import app_env, server_settings
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.plan import DEFAULT_EXCLUDES, METHODS, ROLE_FILES, truthy
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.left_behind import GitError, left_behind

# name: (lowest, highest)
RANGES = {
    "wsgi_deploy_workers": (1, 512),
    "wsgi_deploy_threads": (1, 1024),
    "wsgi_deploy_reload_timeout": (0, 86400),
    "wsgi_deploy_max_request_seconds": (1, 86400),
    "wsgi_deploy_healthcheck_timeout": (0, 3600),
    "wsgi_deploy_healthcheck_status": (100, 599),
    "wsgi_deploy_keep_releases": (1, 1000),
    "wsgi_deploy_lock_timeout": (0, 86400),
    "wsgi_deploy_release_commands_timeout": (1, 86400),
    "wsgi_deploy_drain_timeout": (1, 3600),
}

HOOKS = ("wsgi_deploy_before_switch_tasks", "wsgi_deploy_before_live_tasks", "wsgi_deploy_before_reload_tasks",
         "wsgi_deploy_after_deploy_tasks", "wsgi_deploy_after_live_tasks")

# Variables the playbooks read, and the result the role sets, beside the argument specs' options.
PLAYBOOK_VARIABLES = ("wsgi_deploy_hosts", "wsgi_deploy_batches", "wsgi_deploy_result")

_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_PATH = re.compile(r"(/[A-Za-z0-9._@+-]+)+")
_BIND = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):([0-9]{1,5})")
# An application factory is called with no arguments, as both servers call one.
_APP = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\(\))?")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
# Releases sort by name: a fleet's id is a time, as the names the role gives from a host's clock.
_RELEASE_ID = re.compile(r"([0-9]{8}T[0-9]{12}Z)?")
_ENV_FILE_PATH = re.compile(r"^/|(^|/)[.][.]?(/|$)")
# A root here would hand a system directory, or the logs and runtime files under it, to the app's user.
_SYSTEM_TOPS = {"bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "run", "sbin", "sys", "usr"}
_SYSTEM_DIRS = {"/var/log", "/var/lib", "/var/cache", "/var/run", "/var/lock", "/var/spool", "/var/tmp", "/var/mail",
                "/var/backups", "/var/local", "/var/opt", "/var/www", "/opt/local", "/srv/www"}


def shown(value):
    """A value as the user wrote it, quoted: an empty string or a newline is seen."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return json.dumps(str(value))


def whole(value):
    """A whole number as Jinja's int filter reads it, 0 when it is none."""
    if isinstance(value, bool):
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        try:
            return int(float(str(value)))
        except ValueError:
            return 0


def _is_list(value):
    return isinstance(value, (list, tuple))


def _full(pattern, value):
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _absolute(value):
    return isinstance(value, str) and len(value) > 1 and value.startswith("/")


class Context(object):
    """What Validate knows besides the variables: the inventory and the controller's files."""

    def __init__(self, inventory_hostname="localhost", inventory_hosts=(), playbook_dir="", known=(),
                 given=(), check_mode=False):
        self.inventory_hostname = inventory_hostname
        self.inventory_hosts = set(inventory_hosts)
        self.playbook_dir = playbook_dir
        # Every variable of the role (its argument specs' options) and the names given in scope.
        self.known = sorted(set(known) | set(PLAYBOOK_VARIABLES))
        self.given = sorted(given)
        self.check_mode = check_mode


_PREFIX = "wsgi_deploy_"


def unknown_variables(context):
    """A misspelt or made-up variable would be silently ignored: name each, with the nearest known."""
    found = []
    for name in context.given:
        if name.startswith(_PREFIX) and name not in context.known:
            # Every name shares the prefix: only what follows it tells them apart.
            near = difflib.get_close_matches(name[len(_PREFIX):], [known[len(_PREFIX):] for known in context.known],
                                             n=1, cutoff=0.6)
            found.append("%s is not a variable of the role%s" % (
                name, "; did you mean %s%s?" % (_PREFIX, near[0]) if near else " (README, Variables, lists them all)."))
    return found


def _common(v, context):
    found = []
    # The sync runs rsync here, on the controller, as well as on the host.
    if not shutil.which("rsync"):
        found.append("rsync is not installed on the controller (this machine), which ships the code with it: "
                     "install it (Debian - apt-get install rsync; macOS - brew install rsync).")
    src = v["wsgi_deploy_src"]
    if not (isinstance(src, str) and src and os.path.isdir(src)):
        found.append("wsgi_deploy_src must name the app's directory on the controller; %s is %s."
                     % (shown(src), "empty" if not src else "not a directory"))
    ship = v["wsgi_deploy_ship_env_files"]
    if not (_is_list(ship) and all(isinstance(item, str) and not _ENV_FILE_PATH.search(item) for item in ship)):
        found.append("wsgi_deploy_ship_env_files must be a list of paths relative to wsgi_deploy_src, such as "
                     "[config/defaults.env]; got %s." % shown(ship))
    exclude = v["wsgi_deploy_exclude"]
    if not (_is_list(exclude) and all(isinstance(item, str) for item in exclude)):
        found.append("wsgi_deploy_exclude must be a list of rsync patterns (strings), not %s." % shown(exclude))
    # A hook that cannot be found would fail halfway, after the switch, with new code live and never reloaded.
    for name in HOOKS:
        hook = v[name]
        if hook and not (isinstance(hook, str) and (
                os.path.isfile(hook) or os.path.isfile(os.path.join(context.playbook_dir, hook)))):
            found.append("%s must name a tasks file on the controller (absolute, or relative to the playbook); "
                         "%s is not a file." % (name, shown(hook)))
    balancer = v["wsgi_deploy_haproxy_host"]
    if balancer and balancer not in context.inventory_hosts and balancer != "localhost":
        found.append("wsgi_deploy_haproxy_host %s is no host of the inventory: name the haproxy host as the "
                     "inventory names it, so that the role can reach it." % balancer)
    if balancer == context.inventory_hostname:
        found.append("%s is the haproxy host (wsgi_deploy_haproxy_host), not an app's host: deploy the app's hosts "
                     "only, such as with -e wsgi_deploy_hosts=web." % context.inventory_hostname)
    if balancer and not (v["wsgi_deploy_haproxy_backend"] and v["wsgi_deploy_haproxy_server"]):
        found.append("with wsgi_deploy_haproxy_host, wsgi_deploy_haproxy_backend must name the haproxy backend that "
                     "serves the app (and wsgi_deploy_haproxy_server this host's server in it, by default its "
                     "inventory name).")
    release_id = v["wsgi_deploy_release_id"]
    if not _full(_RELEASE_ID, release_id):
        found.append("wsgi_deploy_release_id must be a UTC time as the role names releases (YYYYMMDDTHHMMSS and "
                     "microseconds, then Z, such as 20261203T234500123456Z), or empty for each host's own clock; "
                     "got %s." % shown(release_id))
    methods = METHODS.get(v["wsgi_deploy_server"])
    if methods and v["wsgi_deploy_reload_method"] not in [""] + methods["all"]:
        found.append("wsgi_deploy_reload_method must be one of %s for %s (or empty for %s), not %s."
                     % (", ".join(methods["all"]), v["wsgi_deploy_server"], methods["default"],
                        shown(v["wsgi_deploy_reload_method"])))
    return found


def _root_problem(root):
    if not _full(_PATH, root):
        return True
    parts = root.split("/")
    return (any(part in (".", "..") for part in parts) or len(parts) < 3 or root in _SYSTEM_DIRS
            or parts[1] in _SYSTEM_TOPS)


def _relative_paths(v):
    """Each shared or writable path, as given."""
    for name in ("wsgi_deploy_shared_dirs", "wsgi_deploy_shared_files", "wsgi_deploy_release_writable_dirs"):
        given = v[name]
        yield from given if _is_list(given) else [given]


def _plain(item):
    """A plain path inside the app, that is none of the role's own files."""
    return (isinstance(item, str) and item != "" and not item.startswith("/")
            and not any(part in ("", ".", "..") for part in item.rstrip("/").split("/"))
            and item.rstrip("/") not in ROLE_FILES)


def _shared_clashes(v):
    """Two shared paths that are the same or one inside the other, or a shared path where the source
    has something of the other kind or an app file: the link would replace code, or shadow a path."""
    found = []
    paths = [item.rstrip("/") for item in _relative_paths(v)]
    for index, path in enumerate(paths):
        for other in paths[index + 1:]:
            if path == other or other.startswith(path + "/") or path.startswith(other + "/"):
                found.append("the shared paths %s and %s overlap: give each once, and neither inside another."
                             % (shown(path), shown(other)))
    src = v["wsgi_deploy_src"]
    if not (isinstance(src, str) and os.path.isdir(src)):
        return found
    for path in v["wsgi_deploy_shared_dirs"]:
        if path in paths and os.path.isfile(os.path.join(src, path)):
            found.append("wsgi_deploy_shared_dirs %s is a file in wsgi_deploy_src; a shared directory would "
                         "replace it." % shown(path))
    files = [path for path in v["wsgi_deploy_shared_files"]
             if path in paths and os.path.lexists(os.path.join(src, path))]
    if files:
        try:
            left = left_behind(src, list(DEFAULT_EXCLUDES) + list(v["wsgi_deploy_exclude"]),
                               truthy(v["wsgi_deploy_leave_gitignored"]), v["wsgi_deploy_ship_env_files"])
        except (GitError, OSError) as exc:
            return found + ["cannot read wsgi_deploy_src %s: %s" % (shown(src), exc)]
        for path in files:
            if "/" + path not in left:
                found.append("wsgi_deploy_shared_files %s exists in wsgi_deploy_src: the release would replace it "
                             "by the link to shared/%s, an empty file the app can write; remove it from the "
                             "source, or choose another path." % (shown(path), path))
    return found


def _command_lists(v):
    found = []
    for name in ("wsgi_deploy_release_commands_once", "wsgi_deploy_release_commands"):
        given = v[name]
        # Each is run as it is, without a shell: a string would be split by nobody.
        if not (_is_list(given) and all(_is_list(command) and command and all(isinstance(arg, str) for arg in command)
                                        for command in given)):
            found.append("%s must be a list of commands, each a non-empty list of strings run without a shell, "
                         "such as [[python, manage.py, migrate, --noinput]]; got %s." % (name, shown(given)))
    return found


def _requirements(v):
    requirements, src = v["wsgi_deploy_requirements"], v["wsgi_deploy_src"]
    if not requirements:
        return []
    path = os.path.join(str(src), str(requirements))
    if not isinstance(requirements, str) or requirements.startswith("/") or not os.path.isfile(path):
        return ["wsgi_deploy_requirements must be a file inside wsgi_deploy_src, given relative to it; "
                "%s/%s is not a file." % (src, requirements)]
    # pip reads it inside the release, which holds the source only.
    inside = os.path.realpath(src) + os.sep
    if not os.path.realpath(path).startswith(inside):
        return ["wsgi_deploy_requirements %s leads out of wsgi_deploy_src (to %s): the release holds the source "
                "only; give a file inside it." % (shown(requirements), os.path.realpath(path))]
    return []


def _managed(v):
    found = []
    server = v["wsgi_deploy_server"]
    systemd = v["wsgi_deploy_service_manager"] == "systemd"
    # Go live prunes to the newest kept releases: the one a fleet rollback goes back to must be kept.
    if truthy(v["wsgi_deploy_fleet_rollback"]) and whole(v["wsgi_deploy_keep_releases"]) < 2:
        found.append("wsgi_deploy_fleet_rollback needs wsgi_deploy_keep_releases of 2 or more: with 1, each host "
                     "removes the release it ran before as soon as the new one is live, and has nothing to go "
                     "back to.")
    if not _full(_NAME, v["wsgi_deploy_name"]):
        found.append("wsgi_deploy_name must be a short lowercase name (letters, digits, - and _), it names the "
                     "directory, the user and the unit; got %s." % shown(v["wsgi_deploy_name"]))
    # The root goes into a unit, a config and chowns: plain names only, and never a system directory.
    if _root_problem(v["wsgi_deploy_root"]):
        found.append("wsgi_deploy_root must be an absolute path of plain names (letters, digits, . _ @ + -), at "
                     "least two deep and not a system directory, such as /srv/shop; got %s."
                     % shown(v["wsgi_deploy_root"]))
    if not _full(_APP, v["wsgi_deploy_app"]):
        found.append("wsgi_deploy_app must be module:callable, such as main:app or shop.wsgi:application, or "
                     "module:factory() for an application factory, such as flaskr:create_app(); got %s."
                     % shown(v["wsgi_deploy_app"]))
    bind = _BIND.fullmatch(v["wsgi_deploy_bind"]) if isinstance(v["wsgi_deploy_bind"], str) else None
    if not bind or not 1 <= int(bind.group(2)) <= 65535:
        found.append("wsgi_deploy_bind must be host:port, such as 127.0.0.1:8000, localhost:8000 or [::1]:8000; "
                     "got %s." % shown(v["wsgi_deploy_bind"]))
    # A daemon (service manager none) runs as the deploying user, whoever that is; a unit that
    # systemd runs as root would give the app root.
    if v["wsgi_deploy_user"] == "root" and systemd:
        found.append("wsgi_deploy_user must not be root with wsgi_deploy_service_manager systemd: the app runs as "
                     "a user of its own, which cannot get root through it.")
    worker_class = v["wsgi_deploy_worker_class"]
    if server == "uwsgi" and worker_class != "gthread":
        found.append("wsgi_deploy_worker_class is for gunicorn: uWSGI serves WSGI apps only, with "
                     "wsgi_deploy_threads threads a worker; serve an ASGI app with gunicorn and the asgi or "
                     "uvicorn_worker.UvicornWorker worker class, or with uvicorn")
    elif server == "uvicorn" and worker_class != "gthread":
        found.append("wsgi_deploy_worker_class is for gunicorn: uvicorn serves an ASGI app as it is, and a WSGI "
                     "app with wsgi_deploy_threads threads a worker; leave it out.")
    elif server == "granian" and worker_class != "gthread":
        found.append("wsgi_deploy_worker_class is for gunicorn: Granian serves an ASGI app with "
                     "wsgi_deploy_granian_interface asgi, and a WSGI app with wsgi_deploy_threads threads a worker; "
                     "leave it out.")
    elif not _full(_DOTTED, worker_class):
        found.append("wsgi_deploy_worker_class must be a gunicorn worker class, such as gthread, sync, asgi or "
                     "uvicorn_worker.UvicornWorker; got %s." % shown(worker_class))
    if not _full(_USER, v["wsgi_deploy_user"]):
        found.append("wsgi_deploy_user must be a valid user name, not %s." % shown(v["wsgi_deploy_user"]))
    if not _absolute(v["wsgi_deploy_python"]):
        found.append("wsgi_deploy_python must be an absolute path to a Python on the server, not %s."
                     % shown(v["wsgi_deploy_python"]))
    found += _requirements(v)
    bad = [item for item in _relative_paths(v) if not _plain(item)]
    if bad:
        found.append("each of wsgi_deploy_shared_dirs, wsgi_deploy_shared_files and wsgi_deploy_release_writable_dirs "
                     "must be a path inside the app, relative to it, of plain names (no \".\" or \"..\"), such as "
                     "uploads or .env; got %s." % ", ".join(shown(item) for item in bad))
    else:
        found += _shared_clashes(v)
    found += _command_lists(v)
    found += app_env.problems(v["wsgi_deploy_env"])
    if server in server_settings.MANAGED:
        found += server_settings.problems(v["wsgi_deploy_server_settings"], server)
    elif v["wsgi_deploy_server_settings"]:
        found.append("wsgi_deploy_server_settings is for gunicorn and uWSGI: the role sets %s's command line "
                     "from its own variables (bind, workers, threads, max request seconds, reload timeout)."
                     % ("Granian" if server == "granian" else server))
    # uvicorn with one worker has no master: a SIGHUP does not replace the process that serves.
    if server == "uvicorn" and whole(v["wsgi_deploy_workers"]) == 1:
        found.append("wsgi_deploy_workers must be 2 or more with uvicorn: with 1 it runs without a master, and no "
                     "reload can replace the one process that serves without a moment when nothing does.")
    # Granian stops its one worker a respawn interval after spawning the next, ready or not.
    if server == "granian" and whole(v["wsgi_deploy_workers"]) == 1:
        found.append("wsgi_deploy_workers must be 2 or more with Granian: its reload replaces one worker at a "
                     "time, and with 1 nothing serves while the new one loads the app.")
    return found


def release_extras(v):
    """Whether the release holds more than the source: an environment, commands, writable directories."""
    return any(v[name] for name in ("wsgi_deploy_release_commands", "wsgi_deploy_release_commands_once",
                                    "wsgi_deploy_env", "wsgi_deploy_release_writable_dirs"))


def _by_hand(v):
    found = []
    if release_extras(v):
        found.append("wsgi_deploy_env, wsgi_deploy_release_commands(_once) and wsgi_deploy_release_writable_dirs "
                     "need a role-managed server (wsgi_deploy_manage_server true): a server set up by hand gets its "
                     "environment from its own setup, and has no release to run commands in.")
    if v["wsgi_deploy_server_settings"] or v["wsgi_deploy_worker_class"] != "gthread":
        found.append("wsgi_deploy_server_settings and wsgi_deploy_worker_class are written into the config of a "
                     "role-managed server; a server set up by hand takes them in its own config.")
    if not _absolute(v["wsgi_deploy_dest"]):
        found.append("with wsgi_deploy_manage_server false, wsgi_deploy_dest must be the absolute path the server "
                     "imports the app from; got %s." % shown(v["wsgi_deploy_dest"]))
    if v["wsgi_deploy_server"] == "gunicorn" and not _absolute(v["wsgi_deploy_pidfile"]):
        found.append("gunicorn is reloaded through its master's pidfile: set wsgi_deploy_pidfile to its absolute "
                     "path (the pidfile setting in its config).")
    if v["wsgi_deploy_server"] == "granian" and not _absolute(v["wsgi_deploy_pidfile"]):
        found.append("Granian is reloaded through its master's pidfile: set wsgi_deploy_pidfile to the absolute "
                     "path of its --pid-file.")
    if v["wsgi_deploy_server"] == "uvicorn" and not _absolute(v["wsgi_deploy_pidfile"]):
        found.append("uvicorn is reloaded through its master's PID, which it writes nowhere itself: set "
                     "wsgi_deploy_pidfile to the absolute path of the file its starter writes it to.")
    if v["wsgi_deploy_server"] == "uwsgi" and not _absolute(v["wsgi_deploy_reload_file"]):
        found.append("uWSGI is reloaded by touching its touch-chain-reload file: set wsgi_deploy_reload_file to that "
                     "absolute path.")
    for name in ("wsgi_deploy_pidfile", "wsgi_deploy_log_file"):
        if v[name] != "" and not _absolute(v[name]):
            found.append("%s must be an absolute path, not %s." % (name, shown(v[name])))
    return found


def _out_of_range(v):
    found = []
    for name, (lowest, highest) in RANGES.items():
        if not lowest <= whole(v[name]) <= highest:
            found.append("%s must be a whole number from %d to %d, not %s." % (name, lowest, highest, shown(v[name])))
    return found


def problems(variables, context):
    """Every problem with the deploy's variables (each wsgi_deploy_* by name, defaults included), one
    sentence each, in the order a reader fixes them: an empty list when the deploy may go on."""
    v = variables
    found = _common(v, context)
    found += _managed(v) if truthy(v["wsgi_deploy_manage_server"]) else _by_hand(v)
    return found + _out_of_range(v) + unknown_variables(context)
