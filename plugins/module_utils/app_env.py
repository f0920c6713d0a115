# -*- coding: utf-8 -*-
"""The app's environment (wsgi_deploy_env): checked and written on the controller, read on the host.

The file holds one NAME=value line per variable, nothing else: no quotes, no escapes, no comments,
so that every reader (the server's config, the release's check and commands) reads each value
exactly as given. A value therefore holds no line break and no NUL. Kept free of Ansible imports:
the filter plugin, the module and the tests all use it.
"""
from __future__ import annotations

import hashlib
import re

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Each release holds its own environment, so that a rollback brings back the one it ran with.
FILE_NAME = ".wsgi-deploy-env"
# A value is never shown: a problem names the variable only.
_BREAKS = ("\n", "\r", "\0")
# A slow, salted digest, as passwords are kept: it stands for the values in the release key,
# which is no secret.
_ROUNDS = 100000


def problems(env, what="wsgi_deploy_env"):
    """What is wrong with the mapping, one sentence each, naming variables but never a value."""
    if not isinstance(env, dict):
        return ["%s must be a mapping of variable names to values, not a %s." % (what, type(env).__name__)]
    found = []
    for name in sorted(env, key=str):
        value = env[name]
        if not isinstance(name, str) or not NAME.match(name):
            found.append("%s: %r is not a variable name (letters, digits and _, not starting with a digit)."
                         % (what, name))
        elif isinstance(value, bool) or not isinstance(value, (str, int, float)):
            found.append("%s.%s must be a string or a number (quote true, false and empty values in YAML), not %s."
                         % (what, name, "a boolean" if isinstance(value, bool) else
                            "null" if value is None else "a %s" % type(value).__name__))
        elif any(char in str(value) for char in _BREAKS):
            found.append("%s.%s holds a line break or a NUL, which no environment file can carry." % (what, name))
        elif str(value) != str(value).strip():
            found.append("%s.%s starts or ends with whitespace, which gunicorn would strip and the release's "
                         "commands would not: remove it." % (what, name))
    return found


def render(env):
    """The file's text for a mapping that problems() found nothing wrong with."""
    bad = problems(env)
    if bad:
        raise ValueError(" ".join(bad))
    return "".join("%s=%s\n" % (name, env[name]) for name in sorted(env))


def parse(text):
    """The variables in a file that render() wrote."""
    found = {}
    for line in text.split("\n"):
        name, equals, value = line.partition("=")
        if equals and NAME.match(name):
            found[name] = value
    return found


# A value's parts, as an error message may quote them: a URL's host, path, user, password and query.
_PARTS = re.compile(r"[\s:/@?&=#;,'\"<>()\[\]{}]+")
MASK = "********"


def secrets(env):
    """What is masked in anything printed: each value of 4 characters or more, and each of its parts
    of 8 or more (an error names a URL's host and path, or its query, not the URL as given).
    Longest first, so that a part never breaks up a longer value before it is masked whole."""
    found = set()
    for value in env.values():
        value = str(value)
        if len(value) >= 4:
            found.add(value)
        found.update(part for part in _PARTS.split(value) if len(part) >= 8)
    return sorted(found, key=lambda item: (-len(item), item))


def mask(lines, env):
    """Lines with every secret of env (secrets()) put out of sight."""
    hidden = secrets(env)
    masked = []
    for line in lines:
        for value in hidden:
            line = line.replace(value, MASK)
        masked.append(line)
    return masked


def digest(env, salt):
    """Stands for the values without giving them away: equal for equal mappings and salts."""
    text = render(env).encode("utf-8")
    return hashlib.pbkdf2_hmac("sha256", text, ("wsgi-deploy " + salt).encode("utf-8"), _ROUNDS).hex()
