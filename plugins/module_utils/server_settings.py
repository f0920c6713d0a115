# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Extra server settings (wsgi_deploy_server_settings): checked, then written as literals.

The role writes what its reloads depend on; those names are refused here, each with what to set
instead. Whether a name is a setting of the server at all is asked of the server itself, when
the config file is validated on the host (the role's template tasks).
"""
from __future__ import annotations

import json
import re

_ROLE = "the role sets it; its reloads depend on it"
# Who the server runs as is the role's: the unit or the module starts it as wsgi_deploy_user, and a
# master that cannot take another user (or takes root) would not start, and take the site down.
_USER = "the server runs as wsgi_deploy_user, which the role starts it as; set that"

# Setting names the role writes (uWSGI's aliases too), with what a user sets instead.
MANAGED = {
    "gunicorn": {
        "wsgi_app": "set wsgi_deploy_app", "bind": "set wsgi_deploy_bind", "workers": "set wsgi_deploy_workers",
        "threads": "set wsgi_deploy_threads", "worker_class": "set wsgi_deploy_worker_class",
        "raw_env": "set wsgi_deploy_env", "graceful_timeout": "set wsgi_deploy_max_request_seconds",
        "timeout": "set wsgi_deploy_max_request_seconds", "proc_name": "set wsgi_deploy_name",
        "chdir": _ROLE, "pythonpath": _ROLE, "preload_app": _ROLE, "pidfile": _ROLE, "errorlog": _ROLE,
        "loglevel": _ROLE, "capture_output": _ROLE, "control_socket": _ROLE, "daemon": _ROLE,
        "post_worker_init": _ROLE, "reload": _ROLE, "config": _ROLE,
        "user": _USER, "group": _USER, "initgroups": _USER, "chroot": _USER,
    },
    "uwsgi": {
        "http-socket": "set wsgi_deploy_bind", "module": "set wsgi_deploy_app", "wsgi": "set wsgi_deploy_app",
        "processes": "set wsgi_deploy_workers", "workers": "set wsgi_deploy_workers", "threads": "set wsgi_deploy_threads",
        "procname-prefix-spaced": "set wsgi_deploy_name", "worker-reload-mercy": "set wsgi_deploy_max_request_seconds",
        "reload-mercy": "set wsgi_deploy_max_request_seconds", "import": "set wsgi_deploy_env",
        "strict": _ROLE, "master": _ROLE, "chdir": _ROLE, "pythonpath": _ROLE, "virtualenv": _ROLE, "venv": _ROLE,
        "home": _ROLE, "pyhome": _ROLE, "enable-threads": _ROLE, "auto-procname": _ROLE, "lazy-apps": _ROLE,
        "lazy": _ROLE, "touch-chain-reload": _ROLE, "binary-path": _ROLE, "pidfile": _ROLE, "master-fifo": _ROLE,
        "logto": _ROLE, "daemonize": _ROLE, "die-on-term": _ROLE, "vacuum": _ROLE, "wsgi-file": _ROLE,
        "callable": _ROLE, "mount": _ROLE, "ini": _ROLE, "py-autoreload": _ROLE, "touch-reload": _ROLE,
        "uid": _USER, "gid": _USER, "setuid": _USER, "setgid": _USER, "chroot": _USER, "add-gid": _USER,
        "immediate-uid": _USER, "immediate-gid": _USER, "emperor-tyrant": _USER,
    },
}

_NAME = {"gunicorn": re.compile(r"^[a-z][a-z0-9_]*$"), "uwsgi": re.compile(r"^[a-z0-9][a-z0-9-]*$")}
# In strict mode (the role's) uWSGI takes an option's name only as its ini files spell it.
_NAME_HINT = {"gunicorn": "gunicorn.conf.py names, as max_requests", "uwsgi": "uWSGI's ini names, as buffer-size"}
_SCALARS = (str, int, float)


def _value_problem(value):
    items = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not value:
        return "is an empty list"
    for item in items:
        if isinstance(item, bool):
            if isinstance(value, list):
                return "is a list holding true or false (give the option once, not in a list)"
            continue
        if not isinstance(item, _SCALARS):
            return "must be a string, a number, true or false, or a list of strings and numbers"
        if isinstance(item, str) and (re.search(r"[\r\n\x00]", item) or item != item.strip()):
            return "holds a line break, a NUL, or leading or trailing whitespace"
    return ""


def problems(settings, server):
    """Sentences naming each setting that cannot be written; its value is never shown."""
    if not isinstance(settings, dict):
        return ["wsgi_deploy_server_settings must be a mapping of %s setting names to values." % server]
    found = []
    for name in sorted(settings, key=str):
        value = settings[name]
        shown = json.dumps(str(name))
        if not isinstance(name, str) or not _NAME[server].match(name):
            found.append("wsgi_deploy_server_settings: %s is not a %s setting's name (%s)."
                         % (shown, server, _NAME_HINT[server]))
            continue
        shown = name
        managed = MANAGED[server].get(name)
        if managed:
            found.append("wsgi_deploy_server_settings: %s cannot be set here; %s." % (shown, managed))
            continue
        problem = _value_problem(value)
        if problem:
            found.append("wsgi_deploy_server_settings: the value of %s %s." % (shown, problem))
    return found


def _python_literal(value):
    if isinstance(value, bool):
        return "True" if value else "False"
    # JSON's strings, numbers and lists of them are Python literals: no value becomes code.
    return json.dumps(value)


def render(settings, server):
    """The lines the config file ends with, one setting (uWSGI: one value) a line."""
    found = problems(settings, server)
    if found:
        raise ValueError("wsgi_deploy_server_settings has problems: %s" % " ".join(found))
    lines = []
    for name in sorted(settings):
        value = settings[name]
        if server == "gunicorn":
            lines.append("%s = %s" % (name, _python_literal(value)))
            continue
        for item in value if isinstance(value, list) else [value]:
            text = ("true" if item else "false") if isinstance(item, bool) else str(item)
            lines.append("%s = %s" % (name, text))
    return "\n".join(lines)
