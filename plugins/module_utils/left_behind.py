# -*- coding: utf-8 -*-
"""What the sync leaves behind in the app's source on the controller: files git ignores there
(a local database, a virtualenv, build output) and environment files (.env, .env.prod, app.env)
that may hold secrets, unless the user names them to be shipped.

The result is a list of rsync patterns, each anchored at the top of the source and naming one
path, so that rsync and the source digest (source_tree.py) leave out the same files. Kept free of
Ansible imports so that the tests can drive it directly.
"""
from __future__ import annotations

import fnmatch
import os
import subprocess

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.source_tree import Excludes

# Environment files by name: what dotenv tools read, and what people call theirs.
ENV_LIKE = (".env", ".env.*", "*.env")
# rsync reads a pattern with any of these as wildcards, and only then a backslash as an escape.
_WILDCARDS = ("*", "?", "[")


def _anchored(relpath, is_dir):
    if any(char in relpath for char in _WILDCARDS):
        for char in ("\\",) + _WILDCARDS:
            relpath = relpath.replace(char, "\\" + char)
    return "/" + relpath + ("/" if is_dir else "")


class GitError(Exception):
    """git could not say what it ignores in a repository: nothing is shipped on a guess."""


def _git(src, *argv):
    """(exit code, stdout, stderr) of git run in src."""
    try:
        found = subprocess.run(["git", "-C", src] + list(argv), capture_output=True, timeout=120, check=False,
                               env=dict(os.environ, LC_ALL="C", LANGUAGE=""))
    except subprocess.TimeoutExpired:
        raise GitError("git took longer than 120 s in %s" % src)
    except FileNotFoundError:
        if _inside_repository(src):
            raise GitError("%s is in a git repository, but git is not installed on the controller: install it, or set "
                           "wsgi_deploy_leave_gitignored to false to ship what git would ignore" % src)
        return 128, "", "not a git repository (or any of the parent directories), and git is not installed"
    return (found.returncode, found.stdout.decode("utf-8", "surrogateescape"),
            found.stderr.decode("utf-8", "replace"))


def _inside_repository(src):
    here = os.path.abspath(src)
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            return True
        parent = os.path.dirname(here)
        if parent == here:
            return False
        here = parent


def git_ignored(src):
    """The untracked paths in src that an ignore rule matches (a matched directory once, ending
    in /), relative to src; none when src is not inside a git work tree or git is not installed."""
    code, prefix, error = _git(src, "rev-parse", "--show-prefix")
    if code != 0 and "not a git repository (or any" in error:
        # No repository's .gitignore applies.
        return []
    if code != 0:
        raise GitError("git cannot read the repository that holds %s: %s" % (src, error.strip()))
    prefix = prefix.strip("\n")
    code, listed, error = _git(src, "status", "--porcelain=v1", "--ignored=matching", "--untracked-files=normal", "-z", "--", ".")
    if code != 0:
        raise GitError("git status failed in %s: %s" % (src, error.strip()))
    return [entry[3 + len(prefix):] for entry in listed.split("\0")
            if entry.startswith("!! " + prefix) and len(entry) > 3 + len(prefix)]


def env_like(src, excludes=(), ship=()):
    """Environment files under src, relative to it, that are not named in `ship`; what the
    rsync patterns `excludes` leave out already is not looked into."""
    skip = Excludes(list(excludes))
    named = {path.strip("/") for path in ship}
    found = []
    for top, dirs, files in os.walk(src):
        rel_top = os.path.relpath(top, src)
        rel_top = "" if rel_top == "." else rel_top + "/"
        dirs[:] = sorted(name for name in dirs if not skip.excluded(rel_top + name, True))
        for name in sorted(files):
            relpath = rel_top + name
            if (any(fnmatch.fnmatchcase(name, pattern) for pattern in ENV_LIKE)
                    and relpath not in named and not skip.excluded(relpath, False)):
                found.append(relpath)
    return found


def _inside_excluded(skip, path):
    """Whether rsync leaves the path out already: it, or a directory above it, is excluded."""
    parts = path.rstrip("/").split("/")
    return any(skip.excluded("/".join(parts[:count]), count < len(parts) or path.endswith("/"))
               for count in range(1, len(parts) + 1))


def left_behind(src, excludes=(), gitignored=True, ship=()):
    """The anchored rsync patterns of what the sync leaves behind, sorted."""
    patterns = set(_anchored(path, False) for path in env_like(src, excludes, ship))
    if gitignored:
        named = {path.strip("/") for path in ship}
        skip = Excludes(list(excludes))
        patterns.update(_anchored(path.rstrip("/"), path.endswith("/")) for path in git_ignored(src)
                        if path.rstrip("/") not in named and not _inside_excluded(skip, path))
    return sorted(patterns)
