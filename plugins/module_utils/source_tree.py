# -*- coding: utf-8 -*-
"""An app's source tree as rsync ships it, reduced to one digest: the source on the controller,
and a directory deployed into in place on the server, where its files may belong to the app's
user and are read only as regular files, never through a link, never from a FIFO.

Kept free of Ansible imports so that the tests can drive it directly.
"""
from __future__ import annotations

import hashlib
import os
import re
import stat

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import app_files

# What rsync's pattern syntax allows that this reading does not follow for certain: character
# classes (a "[" no backslash makes literal), rule prefixes ("+ " includes, "!" clears the rules
# before it).
_UNCERTAIN = re.compile(r"(?<!\\)\[|^[-+!]")
_WILDCARD = re.compile(r"[*?\[]")


def _pattern_regex(pattern):
    """A regex for one rsync wildcard pattern (* within a name, ** across names, ? one char, and
    a backslash before a character makes it literal, in a pattern with wildcards only, as rsync reads it)."""
    out = []
    index = 0
    escapes = bool(_WILDCARD.search(pattern))
    while index < len(pattern):
        if escapes and pattern[index] == "\\" and index + 1 < len(pattern):
            out.append(re.escape(pattern[index + 1]))
            index += 2
        elif pattern.startswith("**", index):
            out.append(".*")
            index += 2
        elif pattern[index] == "*":
            out.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            out.append("[^/]")
            index += 1
        else:
            out.append(re.escape(pattern[index]))
            index += 1
    return "".join(out)


class Excludes(object):
    """The rsync exclude patterns, when this reading can follow every one of them. One it cannot
    (an include or a reset may undo the others) makes it exclude nothing at all, so that the
    digest covers at least what rsync ships."""

    def __init__(self, patterns):
        self.rules = []
        if any(_UNCERTAIN.search(pattern) for pattern in patterns):
            return
        for pattern in patterns:
            if not pattern:
                continue
            dir_only = pattern.endswith("/")
            body = pattern.rstrip("/")
            if not body:
                continue
            anchored = body.startswith("/")
            body = body.lstrip("/")
            whole_path = anchored or "/" in body or "**" in body
            if not anchored and body.startswith("**/"):
                # rsync lets a leading "**/" of an unanchored pattern match no directory at all.
                regex = "(?:.*/)?" + _pattern_regex(body[3:])
            else:
                regex = _pattern_regex(body)
            if anchored:
                regex = "^" + regex + "$"
            elif whole_path:
                # An unanchored pattern with a slash matches the end of the path, at a name boundary.
                regex = "(^|.*/)" + regex + "$"
            else:
                regex = "^" + regex + "$"
            self.rules.append((re.compile(regex, re.DOTALL), whole_path, dir_only))

    def excluded(self, relpath, is_dir):
        name = relpath.rsplit("/", 1)[-1]
        for regex, whole_path, dir_only in self.rules:
            if dir_only and not is_dir:
                continue
            if regex.match(relpath if whole_path else name):
                return True
        return False


def _entries(top, excludes):
    """(relpath, lstat) of every entry rsync would ship, in a stable order; never follows links."""
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        with os.scandir(os.path.join(top, rel_dir) if rel_dir else top) as listing:
            children = sorted(listing, key=lambda entry: entry.name)
        subdirs = []
        for entry in children:
            relpath = (rel_dir + "/" + entry.name) if rel_dir else entry.name
            info = entry.stat(follow_symlinks=False)
            is_dir = stat.S_ISDIR(info.st_mode)
            if excludes.excluded(relpath, is_dir):
                continue
            yield relpath, info
            if is_dir:
                subdirs.append(relpath)
        pending.extend(reversed(subdirs))


def tree_digest(top, patterns=()):
    top = str(top)
    if not os.path.isdir(top):
        raise NotADirectoryError(20, "not a directory", top)
    digest = hashlib.sha256()
    # The top directory's own mode is shipped too (rsync's "." entry).
    digest.update(("./\0%o\n" % os.lstat(top).st_mode).encode("ascii"))
    for relpath, info in _entries(top, Excludes(patterns)):
        mode = info.st_mode
        path = os.path.join(top, relpath)
        if stat.S_ISREG(mode):
            # A file swapped since it was listed counts as empty: its mode is in the record too.
            detail = app_files.sha256(path)
        elif stat.S_ISLNK(mode):
            detail = os.readlink(path)
        else:
            detail = ""
        record = "%s\0%o\0%s\n" % (relpath, mode, detail)
        digest.update(record.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()
