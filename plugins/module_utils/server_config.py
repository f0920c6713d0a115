# -*- coding: utf-8 -*-
"""What a running server was configured with, read from its command line and config file.

Only what decides whether a reload method can load new code is read: gunicorn's preload_app,
uWSGI's lazy-apps and binary-path. A value that cannot be read is None (unknown), never a guess.
"""
from __future__ import annotations

import os
import re

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import app_files

MAX_CONFIG_BYTES = 1 << 20

TRUE_WORDS = ("1", "true", "yes", "on", "y", "t")
_PRELOAD_LINE = re.compile(r"^\s*preload_app\s*=\s*(\S+)", re.MULTILINE)


def _truthy(value):
    return str(value).strip().strip("\"'").lower() in TRUE_WORDS


def parse_uwsgi_ini(text, section="uwsgi"):
    """The options of one section of a uWSGI ini file, keys with '-' (uWSGI reads '_' alike)."""
    options = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            continue
        if current != section or "=" not in line:
            continue
        key, value = line.partition("=")[::2]
        options[key.strip().replace("_", "-")] = value.strip()
    return options


def uwsgi_options(argv, cwd, read):
    """Options from the command line and the ini files it names; read(path) returns text."""
    options = {}
    words = list(argv[1:])
    index = 0
    while index < len(words):
        word = words[index]
        nxt = words[index + 1] if index + 1 < len(words) else None
        if word in ("--ini",) and nxt:
            options.update(parse_uwsgi_ini(read(os.path.join(cwd, nxt))))
            index += 2
            continue
        if word.startswith("--ini="):
            options.update(parse_uwsgi_ini(read(os.path.join(cwd, word[6:]))))
        elif word.endswith(".ini") and not word.startswith("-"):
            options.update(parse_uwsgi_ini(read(os.path.join(cwd, word))))
        elif word.startswith("--"):
            key, eq, value = word[2:].partition("=")
            key = key.replace("_", "-")
            if eq:
                options[key] = value
            elif nxt is not None and not nxt.startswith("-"):
                options[key] = nxt
                index += 1
            else:
                options[key] = "true"
        index += 1
    return options


def uwsgi_lazy_apps(options):
    return _truthy(options.get("lazy-apps", "")) or _truthy(options.get("lazy", ""))


def gunicorn_preload(argv, cwd, environ, read):
    """True or False for preload_app, or None when no config could be read to tell."""
    words = list(argv) + environ.get("GUNICORN_CMD_ARGS", "").split()
    if "--preload" in words:
        return True
    config = None
    for index, word in enumerate(words):
        if word in ("-c", "--config") and index + 1 < len(words):
            config = words[index + 1]
        elif word.startswith("--config="):
            config = word.split("=", 1)[1]
    # gunicorn reads ./gunicorn.conf.py by default.
    path = os.path.join(cwd, config or "gunicorn.conf.py")
    if config and config.startswith("python:"):
        return None
    try:
        text = read(path)
    except (OSError, UnicodeDecodeError):
        return None if config else False
    found = _PRELOAD_LINE.findall(text)
    return _truthy(found[-1]) if found else False


CONFIG_SUFFIXES = (".ini", ".yaml", ".yml", ".xml", ".json", ".py")


def names_path(text, path):
    """Whether text names path whole, or something inside it: /srv/app in "--chdir=/srv/app" or
    "/srv/app/main:app", not in "/srv/app-admin" or "/opt/srv/app"."""
    path = path.rstrip("/") or "/"
    return re.search(r"(?:^|(?<=[\s=:,;'\"(\[]))" + re.escape(path) + r"(?=$|[/\s:,;'\")\]])", text) is not None


def mentions(argv, cwd, path, read):
    """Whether a command line, or a config file named on it, names path (names_path)."""
    if any(names_path(word, path) for word in argv):
        return True
    for word in argv:
        if word.endswith(CONFIG_SUFFIXES):
            try:
                if names_path(read(os.path.join(cwd, word)), path):
                    return True
            except (OSError, UnicodeDecodeError):
                continue
    return False


def read_text(path, reader=None):
    """A config file named on a server's command line, which its user may own: a regular file
    only, never through a symlink or from a FIFO, at most MAX_CONFIG_BYTES of it; with reader
    (uid, gids), only one that the server's user may read itself."""
    return app_files.read_regular(path, MAX_CONFIG_BYTES, reader=reader).decode("utf-8")


def reader_for(credentials):
    """read_text as the user of a process with these (uid, gids) could read."""
    return lambda path: read_text(path, reader=credentials)
