# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a deploy will do, decided once on the controller from the role's variables and its source.

The action plugin wsgi_plan calls plan() after Validate (inputs.py) found nothing wrong; the role
registers the result as _wsgi_deploy_plan and its phases read its fields. Everything here is a
pure function of its arguments and of the files under wsgi_deploy_src: a unit test gives it any
input. The names of the files the role writes on a server come from releases.py and app_env.py,
which the modules that write them use too.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import app_env, releases, source_tree
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.left_behind import left_behind

# Each server's reload methods. The default keeps the master and has an old worker serve until a
# new one does; new_master replaces its interpreter, which a new virtualenv (and uWSGI's changed
# ini) needs. gunicorn's ttin never reads the config again: a server set up by hand, whose config
# is its own and may change with the code, reloads by hup unless told otherwise.
METHODS = {
    "gunicorn": {"default": "ttin", "by_hand": "hup", "new_master": "usr2", "all": ["hup", "usr2", "ttin"]},
    "uwsgi": {"default": "chain", "by_hand": "chain", "new_master": "full", "all": ["chain", "fifo", "full", "workers"]},
    # uvicorn cannot replace its master. Its new workers run the Python of `venv` and read the app's
    # module anew, so a new virtualenv and a new module need no new master; its command line does
    # (a changed unit, a restart).
    "uvicorn": {"default": "hup", "by_hand": "hup", "new_master": "hup", "all": ["hup"]},
    # Granian's one reload. Its new workers are forked from the master and import the role's module
    # anew; a new virtualenv (its own package, its Python) needs a new master: a restart.
    "granian": {"default": "hup", "by_hand": "hup", "new_master": "hup", "all": ["hup"]},
}

# Each server's config file under the root, and the role's template of it. uvicorn's and Granian's
# is the module their workers import: it reads the app's environment, then imports the app through
# `current`. Their setup is otherwise their command line.
CONFIG_FILES = {
    "gunicorn": ("/etc/gunicorn.conf.py", "gunicorn.conf.py.j2"),
    "uwsgi": ("/etc/uwsgi.ini", "uwsgi.ini.j2"),
    "uvicorn": ("/etc/python/wsgi_deploy_app.py", "app_module.py.j2"),
    "granian": ("/etc/python/wsgi_deploy_app.py", "app_module.py.j2"),
}
# uvicorn and Granian have no daemon mode, and uvicorn writes no pidfile: this shell, as the app's
# user, writes its own PID, reads the start settings the role measured (Granian's respawn interval,
# when the file is there) and becomes the server, its output going to the log. (sh: the PID file,
# the log, the settings file, then the server's command.)
SERVER_LAUNCH = ('echo $$ > "$1" && log=$2 && if [ -r "$3" ]; then set -a && . "$3" && set +a; fi'
                 ' && shift 3 && exec "$@" >> "$log" 2>&1')
# Granian stops an old worker this long after it spawned its successor, ready or not (its default).
GRANIAN_RESPAWN_DEFAULT = 3.5


# The role's own files in a release: no source file, shared path or sync may take their place.
ROLE_FILES = (releases.VENV_MARKER, releases.RELEASE_MARKER, releases.WENT_LIVE_MARKER, releases.RELEASE_RECORD,
              releases.CONFIG_KEPT, app_env.FILE_NAME)

# What the sync always leaves out.
DEFAULT_EXCLUDES = (".git", "__pycache__", "*.pyc", ".venv", "venv", ".virtualenv", "virtualenv", ".tox",
                    ".pytest_cache")

# Every file the sync sends is readable by the app's user and writable by no one else.
RSYNC_CHMOD = "--chmod=go-w,go+rX"

# Counts how the inputs' digest is made: a new way makes every recorded deploy differ once.
INPUTS_FORMAT = 1

# A requirements line that installs the app's own source: `.`, `-e .`, a path, a file: URL.
_LOCAL_REQUIREMENT = re.compile(r"(?m)^[ \t]*((-e|--editable)[ \t=]+)?(\.|/|file:)")
_EDITABLE_LOCAL = re.compile(r"(?m)^[ \t]*(-e|--editable)[ \t=]+(?=\.|/|file:)")
_KEY_JOIN = "\\n"
# "0.0.0.0:8000" is reached on the loopback address.
_ANY_ADDRESS = ("0.0.0.0", "[::]", "")


def truthy(value):
    """A boolean variable as Jinja's bool filter reads it: "no" (from -e) is false."""
    return boolean(value, strict=False)


def _sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _json(value):
    # As Ansible's to_json writes it: the digests recorded by earlier versions stay equal.
    return json.dumps(value)


def _beside(path, suffix):
    """A file beside PATH, hidden, named after it: /srv/shop -> /srv/.shop<suffix>."""
    path = path.rstrip("/")
    return "%s/.%s%s" % (os.path.dirname(path), os.path.basename(path), suffix)


def requirements_text(v):
    """The requirements file as the virtualenv's key reads it (trailing whitespace left out). A server
    set up by hand has its own virtualenv: its app may have no such file."""
    path = os.path.join(v["wsgi_deploy_src"], v["wsgi_deploy_requirements"] or "")
    if not v["wsgi_deploy_requirements"] or not (truthy(v["wsgi_deploy_manage_server"]) or os.path.isfile(path)):
        return ""
    with open(path) as handle:
        return handle.read().rstrip()


def layout(v):
    """Where everything is, on a managed server (under wsgi_deploy_root) or one set up by hand."""
    managed = truthy(v["wsgi_deploy_manage_server"])
    root = v["wsgi_deploy_root"]
    server = v["wsgi_deploy_server"]
    dest = (v["wsgi_deploy_dest"] or "").rstrip("/")
    gunicorn = server == "gunicorn"
    found = {
        "managed": managed,
        "systemd": managed and v["wsgi_deploy_service_manager"] == "systemd",
        # A managed server imports the app through `current`, never through its cwd (a master keeps
        # the release its cwd resolved to when it started).
        "current": root + "/current",
        "releases_dir": root + "/releases",
        # The server runs from `venv`, a symlink to one of venvs/<key>: a new virtualenv is built
        # beside the live one, and the switch is a rename, like the code's.
        "venv": root + "/venv",
        "venvs_dir": root + "/venvs",
        "shared_dir": root + "/shared",
        "etc_dir": root + "/etc",
        "log_dir": root + "/log",
        "run_dir": root + "/run",
        "dest_dir": dest,
        "config_file": root + CONFIG_FILES.get(server, ("", ""))[0],
        "config_template": CONFIG_FILES.get(server, ("", ""))[1],
        "unit": "wsgi-%s.service" % v["wsgi_deploy_name"],
        "unit_template": "launched.service.j2" if server in LAUNCHED else server + ".service.j2",
        # The server's config reads the live release's environment through current; a uWSGI worker
        # imports the module that does (templates/wsgi_deploy_env.py.j2) from etc/python.
        "env_path": root + "/current/" + app_env.FILE_NAME,
        "env_loader": root + "/etc/python/wsgi_deploy_env.py",
        "server_package": v.get("wsgi_deploy_%s_package" % server, ""),
        "methods": METHODS[server],
        # How long the longest request may keep a worker: the servers' mercy and graceful timeouts,
        # and the module's own wait, follow from it.
        "mercy": int(v["wsgi_deploy_max_request_seconds"]) + 5,
        "role_files": list(ROLE_FILES),
        # The other files the role writes: the record of the live deploy under the root, the mark
        # of a complete virtualenv, the requirements rewritten without editable lines.
        "record_file": releases.RECORD,
        "venv_marker_file": releases.VENV_MARKER,
        "env_file": app_env.FILE_NAME,
        "venv_complete_file": releases.VENV_COMPLETE,
        "requirements_copy_file": ".wsgi-deploy-requirements.txt",
        "rsync_chmod": RSYNC_CHMOD,
    }
    found["unit_path"] = "/etc/systemd/system/" + found["unit"]
    # The config files a managed server needs; each release keeps them as it went live with them.
    found["config_files"] = ([found["config_file"]] + ([found["env_loader"]] if server == "uwsgi" else [])
                             + ([found["unit_path"]] if found["systemd"] else [])) if managed else []
    found["reloads"] = reloads(v, found["mercy"])
    found["code_dir"] = found["current"] if managed else v["wsgi_deploy_dest"]
    if managed:
        found.update(pidfile=root + "/run/server.pid", log_file=root + "/log/server.log",
                     fifo_file=root + "/run/master.fifo", reload_file=root + "/run/reload.touch",
                     # Beside the app, not in it, so that no sync can carry them away.
                     lock=root + "/.deploy.lock", drain_mark=root + "/.drained",
                     fleet_lock=_beside(root, ".fleet.lock"))
    else:
        found.update(pidfile=v["wsgi_deploy_pidfile"], log_file=v["wsgi_deploy_log_file"],
                     fifo_file=v["wsgi_deploy_fifo_file"], reload_file=v["wsgi_deploy_reload_file"],
                     lock=_beside(dest, ".deploy.lock"), drain_mark=_beside(dest, ".drained"),
                     fleet_lock=_beside(dest, ".fleet.lock"))
    # What this app's master names (a managed one its config file on its command line, one set up by
    # hand its directory): a pidfile naming a master without it names another app's. A managed
    # master runs as the app's user, and under systemd in the role's unit's cgroup.
    found["master_path"] = found["config_file"] if managed else dest
    found["master_user"] = v["wsgi_deploy_user"] if managed else ""
    found["master_unit"] = found["unit"] if found["systemd"] else ""
    # Python runs the server's script, both through the `venv` symlink: a gunicorn USR2 and a uWSGI
    # full reload re-execute this command line, and so land in the virtualenv live by then.
    found["server_argv"] = [found["venv"] + "/bin/python", found["venv"] + "/bin/" + server,
                            "--config" if gunicorn else "--ini", found["config_file"]]
    # Read when a launched server starts (SERVER_LAUNCH): what the role measured of the app's start.
    found["start_settings_file"] = root + "/etc/start-settings.env" if managed and server == "granian" else ""
    if server in LAUNCHED and managed:
        found["master_path"] = os.path.dirname(found["config_file"])
        found["server_argv"] = launched_argv(v, found)
    found["exec_start"] = systemd_exec(found["server_argv"])
    return found


def systemd_exec(argv):
    """argv as a unit's ExecStart: systemd expands $ and %, and splits at spaces outside quotes."""
    words = []
    for word in argv:
        word = word.replace("$", "$$").replace("%", "%%")
        if re.search(r"[\s\"'\\;]", word) or not word:
            word = '"%s"' % word.replace("\\", "\\\\").replace('"', '\\"')
        words.append(word)
    return " ".join(words)


def launched_argv(v, found):
    """uvicorn's and Granian's whole setup is their command line: the unit's ExecStart, or the
    daemon's command. Their new workers run `venv`'s Python (through the link) and import the role's
    module from etc/python, which imports the app through `current`: a reload loads the live release."""
    argv = ["/bin/sh", "-c", SERVER_LAUNCH, "wsgi-deploy-" + v["wsgi_deploy_server"], found["pidfile"],
            found["log_file"], found["start_settings_file"] or "/dev/null"]
    argv += LAUNCHED[v["wsgi_deploy_server"]](v, found)
    # Without systemd nothing waits on it: setsid forks it off into a session of its own.
    return argv if found["systemd"] else ["/usr/bin/setsid", "--fork"] + argv


def _listen(v):
    """--host, --port and --workers, as uvicorn and Granian both take them."""
    host, dummy, port = v["wsgi_deploy_bind"].rpartition(":")
    return ["--host", host.strip("[]") or "0.0.0.0", "--port", port, "--workers", str(int(v["wsgi_deploy_workers"]))]


def _uvicorn_command(v, found):
    argv = [found["venv"] + "/bin/python", found["venv"] + "/bin/uvicorn", "wsgi_deploy_app:app",
            "--app-dir", os.path.dirname(found["config_file"]), "--interface", "asgi3"] + _listen(v)
    return argv + [
        # A request in flight may take this long when its worker is told to go.
        "--timeout-graceful-shutdown", str(found["mercy"]),
        # How long a new worker may take to be ready before uvicorn gives the restart up: as long
        # as the reload may take. The reload fails before that if it takes longer.
        "--timeout-worker-healthcheck", str(found["reloads"]["chosen"]["timeout"]),
        "--log-level", "info", "--no-access-log"]


def _granian_command(v, found):
    interface = v["wsgi_deploy_granian_interface"]
    argv = [found["venv"] + "/bin/python", found["venv"] + "/bin/granian", "--interface", interface] + _listen(v)
    argv += [
        # A stopping worker that has not finished its requests in flight by then is killed.
        "--workers-kill-timeout", str(found["mercy"]),
        # The reload's lines ("Spawning worker-N with PID", "Started worker-N") are at level info.
        "--log-level", "info"]
    if interface == "wsgi":
        argv += ["--blocking-threads", str(int(v["wsgi_deploy_threads"]))]
    # The app by its path: each worker resolves it when it loads the app, never the master's cwd.
    return argv + [found["config_file"][:-len(".py")] + ":app"]


# The servers the role starts through SERVER_LAUNCH, and their commands.
LAUNCHED = {"uvicorn": _uvicorn_command, "granian": _granian_command}


def respawn_interval(import_seconds):
    """Granian's respawn interval for an app whose import check took import_seconds: an old worker
    is stopped this long after its successor was spawned, so the successor must have loaded the app
    by then, with room for a slower start under load. Never below Granian's own default."""
    if import_seconds is None:
        return GRANIAN_RESPAWN_DEFAULT
    return max(GRANIAN_RESPAWN_DEFAULT, math.ceil(float(import_seconds) * 1.5 + 2))


def start_settings(import_seconds):
    """The file SERVER_LAUNCH reads before Granian starts: its respawn interval, from the app's start."""
    return ("# Written by wsgi-deploy from the app's measured start (%s): read when Granian starts.\n"
            "GRANIAN_RESPAWN_INTERVAL=%s\n" % (
                "not measured" if import_seconds is None else "its import took %.1f s" % float(import_seconds),
                respawn_interval(import_seconds)))


def _bind(v):
    host, dummy, port = v["wsgi_deploy_bind"].rpartition(":")
    return ("127.0.0.1" if host in _ANY_ADDRESS else host), port


def _health_url(v, managed):
    if v["wsgi_deploy_healthcheck_url"]:
        return v["wsgi_deploy_healthcheck_url"]
    if not managed:
        return ""
    host, port = _bind(v)
    return "http://%s:%s%s" % (host, port, v["wsgi_deploy_healthcheck_path"])


def _shared_parents(paths):
    """Every directory above a shared path, inside shared/ ("a" and "a/b" for "a/b/c")."""
    found = set()
    for path in paths:
        parts = path.split("/")
        found.update("/".join(parts[:count]) for count in range(1, len(parts)))
    return sorted(found)


def chosen_excludes(v, where):
    """What the sync leaves out, before what is left behind in the source is added."""
    if where["managed"]:
        # Anchored at the top of the app: what the role puts into a release is no part of the source.
        anchored = ["/" + name for name in list(ROLE_FILES) + where["shared_paths"]]
    else:
        # The server's own files in a directory set up by hand (pidfile, log, touch file, FIFO) are
        # never sent, and so never deleted, whatever wsgi_deploy_delete says.
        prefix = where["dest_dir"] + "/"
        anchored = [path[len(where["dest_dir"]):] for path in
                    (where["pidfile"], where["log_file"], where["reload_file"], where["fifo_file"])
                    if path and path.startswith(prefix)]
    return list(DEFAULT_EXCLUDES) + list(v["wsgi_deploy_exclude"]) + anchored


def release_commands(v, hostname, play_hosts):
    """What a new release runs: a fleet's once-only commands (migrations) on the first host of the
    play only, which is alone in the first batch, before any host switches; then each host's own."""
    first = hostname == (play_hosts[0] if play_hosts else hostname)
    return (list(v["wsgi_deploy_release_commands_once"]) if first else []) + list(v["wsgi_deploy_release_commands"])


def plan(v, hostname="localhost", play_hosts=(), check_mode=False, read_source=True):
    """The deploy's decisions that need nothing from the server: its layout, what the sync sends and
    its digest, the virtualenv's key, the release's key, and the inputs' digest but for the content
    of the config files (which the role's templates give: it adds them as `files`). Without
    read_source (a rollback, a stop, a fleet's start), nothing is read from wsgi_deploy_src."""
    found = layout(v)
    managed = found["managed"]
    shared = [path.rstrip("/") for path in list(v["wsgi_deploy_shared_dirs"]) + list(v["wsgi_deploy_shared_files"])]
    found["shared_paths"] = shared
    found["shared_parents"] = _shared_parents(shared)
    found["writable_dirs"] = [path.rstrip("/") for path in v["wsgi_deploy_release_writable_dirs"]]
    found["bind_host"], found["bind_port"] = _bind(v)
    found["healthcheck_url"] = _health_url(v, managed)
    # Behind haproxy (balanced.yml) a host may be drained; check mode leaves the balancer alone. The
    # deploy is wrapped for haproxy, and for an after-live hook, which runs whatever happened.
    found["balanced"] = bool(v["wsgi_deploy_haproxy_host"]) and not check_mode
    found["wrapped"] = found["balanced"] or bool(v["wsgi_deploy_after_live_tasks"])
    # A restart refuses connections: it is drained first unless never; a graceful reload only with always.
    found["drain_before_restart"] = found["balanced"] and v["wsgi_deploy_drain"] != "never"
    found["drain_before_reload"] = found["balanced"] and v["wsgi_deploy_drain"] == "always"
    if read_source:
        found.update(_from_source(v, found, hostname, play_hosts))
    return found


def _from_source(v, layout_found, hostname, play_hosts):
    """What the sync sends, its digest, the keys of the virtualenv and of the release."""
    found = dict(layout_found)
    shared = found["shared_paths"]
    src = v["wsgi_deploy_src"]
    chosen = chosen_excludes(v, found)
    found["left_behind"] = left_behind(src, chosen, truthy(v["wsgi_deploy_leave_gitignored"]),
                                       v["wsgi_deploy_ship_env_files"])
    found["sync_excludes"] = chosen + found["left_behind"]
    found["rsync_opts"] = [RSYNC_CHMOD] + ["--exclude=" + pattern for pattern in found["sync_excludes"]]
    source = source_tree.tree_digest(src, found["sync_excludes"])
    found["source_digest"] = source

    # Requirements that install the app's own source make it part of the virtualenv's key: the
    # virtualenv holds a copy of that source. A release is still RELEASE.partial when pip runs, and
    # never changes once built: an editable install would follow a path that is gone, so such lines
    # are installed as copies.
    text = requirements_text(v)
    local = bool(_LOCAL_REQUIREMENT.search(text))
    copied = _EDITABLE_LOCAL.sub("", text)
    found["requirements_local"] = local
    found["requirements_copied"] = copied if copied != text else ""
    found["requirements_editable"] = copied != text
    # Joined by a backslash and an n, as the role's Jinja joined them before: the keys of the
    # virtualenvs on servers stay what they were.
    parts = [v["wsgi_deploy_python"], found["server_package"], text] + ([source] if local else [])
    found["venv_key"] = _sha256(_KEY_JOIN.join(parts))[:12]
    found["venv_dir"] = found["venvs_dir"] + "/" + found["venv_key"]

    # The release: the live one when it holds this source, these shared paths, release commands
    # and environment. Without commands or an environment, the key is what it was before either
    # existed: no upgrade makes a new release. The commands' part is the same on every host of a
    # fleet, though only the first runs those it runs once.
    env = v["wsgi_deploy_env"]
    env_digest = app_env.digest(env, v["wsgi_deploy_root"]) if env else ""
    once, each = list(v["wsgi_deploy_release_commands_once"]), list(v["wsgi_deploy_release_commands"])
    extras = bool(once or each or env or v["wsgi_deploy_release_writable_dirs"])
    commands_key = [once, each] if once else each
    release = [source, shared] + ([commands_key, env_digest, found["writable_dirs"]] if extras else [])
    found["release_key"] = _sha256(_json(release))
    found["release_commands"] = release_commands(v, hostname, list(play_hosts))

    # What the record's digest holds; the role adds the config files' digests as `files`.
    inputs = {"format": INPUTS_FORMAT, "source": source, "files": {}, "venv": found["venv_key"], "shared": shared,
              "user": v["wsgi_deploy_user"], "excludes": [RSYNC_CHMOD] + chosen}
    if extras:
        inputs.update(commands=commands_key, env=env_digest, writable=found["writable_dirs"])
    found["inputs"] = inputs
    return found


def reloads(v, mercy):
    """The reload method and how long it may take: the one chosen, and the one that replaces the
    master (which a new virtualenv needs). A uWSGI chain replaces one worker at a time."""
    methods = METHODS[v["wsgi_deploy_server"]]
    default = methods["default"] if truthy(v["wsgi_deploy_manage_server"]) else methods["by_hand"]
    found = {}
    for kind, method in (("chosen", v["wsgi_deploy_reload_method"] or default),
                         ("new_master", methods["new_master"])):
        if int(v["wsgi_deploy_reload_timeout"]) > 0:
            timeout = int(v["wsgi_deploy_reload_timeout"])
        elif v["wsgi_deploy_server"] == "uwsgi" and method in ("chain", "fifo"):
            timeout = int(v["wsgi_deploy_workers"]) * (mercy + 25)
        else:
            timeout = mercy + 60
        found[kind] = {"method": method, "timeout": timeout}
    return found


# How the role prepares a host, counted: a new way prepares every host again once.
PREPARE_FORMAT = 4

# The app's import, as uWSGI and the role's uvicorn module import it (a module and a callable, or a
# factory called with no argument), run by the new virtualenv's Python before anything points at the
# release.
_APP_IMPORT = ("import importlib, sys; sys.path.insert(0, sys.argv[1]); "
               "name, _, attr = sys.argv[2].partition(':'); factory = attr.endswith('()'); "
               "app = getattr(importlib.import_module(name), attr[:-2] if factory else attr); "
               "app = app() if factory else app; "
               "callable(app) or sys.exit('%s is not callable' % sys.argv[2])")


def prepared_digest(v, deployer):
    """What the record keeps of how the host was prepared: a host prepared the same way is not again."""
    return _sha256(_json([PREPARE_FORMAT, v["wsgi_deploy_user"], v["wsgi_deploy_root"], v["wsgi_deploy_python"],
                          truthy(v["wsgi_deploy_install_packages"]), deployer, list(v["wsgi_deploy_shared_dirs"]),
                          list(v["wsgi_deploy_shared_files"])]))


def app_layout(v, found, deployer):
    """The directories and shared files of a managed server, as wsgi_app_layout makes them, in
    order: what the deploying user owns, what the app's user writes (its log, its runtime files,
    the shared directories and files), every shared path's parents first."""
    user = v["wsgi_deploy_user"]

    def entry(path, owner, mode, group=""):
        return {"path": path, "owner": owner, "group": group, "mode": mode}

    directories = [entry("", deployer, "0755"), entry("releases", deployer, "0750", user),
                   entry("venvs", deployer, "0755"), entry("etc", deployer, "0755"), entry("etc/python", deployer, "0755"),
                   entry("log", user, "0750", user), entry("run", user, "0750", user), entry("shared", deployer, "0755")]
    directories += [entry("shared/" + parent, deployer, "0755") for parent in found["shared_parents"]]
    directories += [entry("shared/" + path.rstrip("/"), user, "0750", user) for path in v["wsgi_deploy_shared_dirs"]]
    files = [entry("shared/" + path, user, "0640", user) for path in v["wsgi_deploy_shared_files"]]
    return {"root": v["wsgi_deploy_root"], "directories": directories, "files": files}


def import_check(v, venv_dir, code_path, config_file):
    """The new release's app imported as the server will import it. Python runs the script, as it
    runs the server: no script's #! line is relied on."""
    python = venv_dir + "/bin/python"
    if v["wsgi_deploy_server"] == "gunicorn":
        # check-config imports before it applies pythonpath; chdir is on sys.path by then.
        return [python, venv_dir + "/bin/gunicorn", "--check-config", "--config=" + config_file, "--chdir=" + code_path]
    return [python, "-c", _APP_IMPORT, code_path, v["wsgi_deploy_app"]]


def after_preflight(v, found, host, now, check_mode=False):
    """What the deploy does, from the plan (found) and what Preflight saw on the host (host), or,
    once the lock is taken, saw under it (now). Nothing here waits for a task's result: what the
    sync, pip and the reload report is read where it happens."""
    managed = found["managed"]
    status = host.get("status") or {}
    running = bool(status.get("running"))
    live = now.get("live") or {}
    decided = {"deployer": host["user"], "running": running, "master_pid": status.get("master_pid"),
               "unchanged": bool(host.get("unchanged")) and running, "venv_ready": bool(now.get("venv_ready"))}
    decided["prepared_digest"] = prepared_digest(v, host["user"])
    decided["prepare"] = managed and (host.get("record") or {}).get("prepared", "") != decided["prepared_digest"]
    decided["layout"] = app_layout(v, found, host["user"]) if decided["prepare"] else {}

    venv_changed = managed and live.get("venv") != found["venv_key"]
    # pip, as the deploying user, reads what it installs from where it runs. Requirements that
    # install the app's own source are built in a new release, a fresh copy of the source: the live
    # one holds the shared paths, links into what the app's user writes.
    new_release = managed and (live.get("release_key") != found["release_key"]
                               or (venv_changed and bool(found.get("requirements_local"))))
    release_dir = found["releases_dir"] + "/" + host["stamp"]
    decided.update(new_release=new_release, release_dir=release_dir, release_name=host["stamp"],
                   live_release=live.get("release", ""),
                   previous_release=(found["releases_dir"] + "/" + live["release"]) if live.get("release") else "",
                   venv_changed=venv_changed, previous_venv=live.get("venv", ""))
    # What is live but not vouched for by a record may not be what the server runs (a deploy cut off
    # between its switch, or its in-place sync, and its reload): it is reloaded onto, with a new master.
    unvouched = not now.get("vouched")
    # Where the code the deploy checks is: the new release once synced, else the live one. In check
    # mode a new release exists only on the controller: nothing runs inside it.
    code_path = release_dir if (new_release and not check_mode) else found["current"]
    decided["requirements_cwd"] = code_path + (releases.PARTIAL if new_release else "")
    decided["requirements_path"] = decided["requirements_cwd"] + "/" + (v["wsgi_deploy_requirements"] or "")
    decided["release_on_host"] = not (check_mode and new_release)
    decided["import_check"] = import_check(v, found["venv_dir"], code_path, found["config_file"])

    # The config files a managed server needs, written where they differ (Preflight compared them).
    # A new config is read by the graceful reload (gunicorn's HUP re-reads it, uWSGI's full reload
    # re-executes the master); only a changed unit needs a restart.
    writes = [path for path in found["config_files"] if path not in (now.get("files_matching") or [])]
    unit_changed = found["unit_path"] in writes
    config_changed = any(path != found["unit_path"] for path in writes)
    # Granian forks its new workers from its master, which keeps the packages it imported: a new
    # virtualenv (Granian's own version among them) needs a new master, which only a restart gives.
    restart = running and (unit_changed or (v["wsgi_deploy_server"] == "granian" and decided["venv_changed"]))
    decided.update(writes=writes, unit_changed=unit_changed, config_changed=config_changed,
                   starts=managed and (not running or restart), restart=restart,
                   drain_before_restart=found["drain_before_restart"] and running)
    # A first deploy (nothing answered here before) whose start fails stops the server it started.
    decided["first_deploy"] = decided["starts"] and not running and not live.get("release")

    # A running server that needs nothing between the switch and its reload (no start, no restart, no
    # hook) is switched by Go live's own call: one call fewer on the server. Release commands are run
    # by Release's own task, which names them: they may take minutes.
    runs_commands = new_release and bool(found["release_commands"])
    hooks = v["wsgi_deploy_before_reload_tasks"] or v["wsgi_deploy_before_live_tasks"] or v["wsgi_deploy_before_switch_tasks"]
    switches = new_release or decided["venv_changed"]
    at_golive = bool(switches and running and not restart and not hooks and not runs_commands)
    decided.update(runs_commands=runs_commands, switch_at_golive=at_golive, switch_in_release=bool(switches and not at_golive))
    # Whether the running server must load new code (what the sync or pip changed is added where
    # they ran), and whether that needs a new master: a new virtualenv is seen only by a new
    # interpreter, uWSGI reads its ini only when its master starts, and gunicorn's ttin adds
    # workers to a master that does not read its config again.
    decided["code_changes"] = bool(new_release or unvouched or decided["venv_changed"] or config_changed)
    # (uvicorn's and Granian's new workers import the role's module anew.)
    rereads_config = (v["wsgi_deploy_server"] == "gunicorn" and found["reloads"]["chosen"]["method"] != "ttin"
                      or v["wsgi_deploy_server"] in LAUNCHED)
    decided["new_master"] = bool(decided["venv_changed"] or (managed and unvouched)
                                 or (config_changed and not rereads_config))
    # Hooks read these (README "Hooks"), with the phase they run in.
    decided["hook"] = {"app_dir": found["code_dir"], "release": release_dir if new_release else "",
                       "previous_release": decided["previous_release"] if new_release else "",
                       "venv": found["venv_dir"] if managed else "", "server": v["wsgi_deploy_server"],
                       "user": found["master_user"]}
    return decided
