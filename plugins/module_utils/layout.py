# -*- coding: utf-8 -*-
"""The app's directories and shared paths, made or put right in one call.

Under the app's root every name is reached relative to the descriptor of the directory above it,
opened without following a link, and each directory is checked on its own descriptor before its
owner or mode is set: a name the app's user swapped for a link between the look and the use is
refused, never followed. Above the root, the operator's own path is followed as the system
resolves it, and missing directories are made there as `mkdir -p` makes them. Kept free of
Ansible imports so that the unit tests can drive it directly.
"""
from __future__ import annotations

import errno
import grp
import os
import pwd
import stat

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class LayoutError(Exception):
    def __init__(self, msg):
        super(LayoutError, self).__init__(msg)
        self.msg = msg


def _ids(owner, group, check_mode):
    """uid and gid for the names given (gid -1: left as it is); None where check mode meets a
    user or group that an earlier task would have made."""
    try:
        uid = pwd.getpwnam(owner).pw_uid
        gid = grp.getgrnam(group).gr_gid if group else -1
    except KeyError:
        if check_mode:
            return None, None
        raise LayoutError("no user %r or group %r on this host to own the app's directories" % (owner, group))
    return uid, gid


def _open_root(root, check_mode, made):
    """The root's descriptor, its missing parents and itself made first; None in check mode when
    it does not exist yet."""
    missing = []
    path = root
    while not os.path.lexists(path):
        missing.append(path)
        path = os.path.dirname(path)
    for path in reversed(missing):
        made.append(path)
        if not check_mode:
            try:
                os.mkdir(path, 0o755)
            except FileExistsError:
                pass
    if check_mode and missing:
        return None
    try:
        # The root's own path is the operator's: a link there (/srv/app to /data/app) is followed.
        return os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except NotADirectoryError:
        raise LayoutError("%s is not a directory: the app's root must be one" % root)


def _walk(root_fd, root, relpath):
    """The descriptor of the directory that holds relpath's last name, each name above it opened
    without following a link. The caller closes it."""
    fd = os.dup(root_fd)
    parts = [part for part in relpath.split("/") if part]
    for depth, name in enumerate(parts[:-1]):
        try:
            child = os.open(name, _DIR_FLAGS, dir_fd=fd)
        except OSError as exc:
            os.close(fd)
            where = os.path.join(root, *parts[:depth + 1])
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise LayoutError("%s is not a directory: a link there is never followed. Someone who "
                                  "can write its parent may have put it there; remove it and deploy again" % where)
            raise LayoutError("%s does not exist: %s" % (where, exc.strerror))
        os.close(fd)
        fd = child
    return fd, parts[-1]


def _directory(parent, name, path, entry, uid, gid, check_mode, result):
    try:
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        result["made"].append(path)
        if check_mode:
            return
        os.mkdir(name, entry["mode"], dir_fd=parent)
        info = None
    if info is not None and not stat.S_ISDIR(info.st_mode):
        kind = "a link" if stat.S_ISLNK(info.st_mode) else "not a directory"
        raise LayoutError("%s is %s, where the app's directory must be: nothing was followed or changed there. "
                          "Someone who can write its parent may have put it there; remove it and deploy again" % (path, kind))
    if check_mode:
        if uid is not None and _wrong(info, entry, uid, gid):
            result["fixed"].append(path)
        return
    fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
    try:
        _own(fd, path, entry, uid, gid, info is None, result)
    finally:
        os.close(fd)


def _root(fd, root, entry, uid, gid, check_mode, result):
    if not check_mode:
        _own(fd, root, entry, uid, gid, root in result["made"], result)
        return
    if uid is not None and _wrong(os.fstat(fd), entry, uid, gid):
        result["fixed"].append(root)


def _file(parent, name, path, entry, uid, gid, check_mode, result):
    """An empty file where none is: one that exists, of any kind, is left as it is."""
    try:
        os.stat(name, dir_fd=parent, follow_symlinks=False)
        return
    except FileNotFoundError:
        pass
    result["made"].append(path)
    if check_mode:
        return
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, entry["mode"],
                     dir_fd=parent)
    except FileExistsError:
        result["made"].remove(path)
        return
    try:
        _own(fd, path, entry, uid, gid, True, result)
    finally:
        os.close(fd)


def _wrong(info, entry, uid, gid):
    """Whether what stat says differs from the entry's owner, group (unless -1) and mode."""
    return (info.st_uid != uid or (gid != -1 and info.st_gid != gid)
            or stat.S_IMODE(info.st_mode) != entry["mode"])


def _own(fd, path, entry, uid, gid, new, result):
    if _wrong(os.fstat(fd), entry, uid, gid):
        os.fchown(fd, uid, gid)
        os.fchmod(fd, entry["mode"])
        if not new:
            result["fixed"].append(path)


def ensure(root, entries, check_mode=False):
    """Makes or puts right each entry, in order: a dict with path (relative to root; "" is the
    root), kind (directory or file), owner, group (optional) and mode (an int). A directory's
    parents come before it. Returns {"made": [...], "fixed": [...]}: paths made, and directories
    whose owner or mode were put right."""
    result = {"made": [], "fixed": []}
    root = os.path.normpath(root)
    root_fd = _open_root(root, check_mode, result["made"])
    try:
        for entry in entries:
            uid, gid = _ids(entry["owner"], entry.get("group") or "", check_mode)
            relpath = entry["path"].strip("/")
            path = os.path.join(root, relpath) if relpath else root
            if root_fd is None:
                # Check mode on a host that has no root yet: everything under it would be made.
                if relpath:
                    result["made"].append(path)
                continue
            if not relpath:
                _root(root_fd, root, entry, uid, gid, check_mode, result)
                continue
            parent, name = _walk(root_fd, root, relpath)
            try:
                if entry["kind"] == "directory":
                    _directory(parent, name, path, entry, uid, gid, check_mode, result)
                else:
                    _file(parent, name, path, entry, uid, gid, check_mode, result)
            finally:
                os.close(parent)
    finally:
        if root_fd is not None:
            os.close(root_fd)
    return result
