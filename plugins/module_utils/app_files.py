# -*- coding: utf-8 -*-
"""Files that the app's user may control (pidfiles, logs, configs, the touch file, the master
FIFO), used by a module that may run as root.

Each is opened once, never through a symlink, never blocking on a FIFO, and checked on the
open descriptor for what it must be before anything is read, written or touched: what the path
named when it was looked at is not trusted to be what it names when it is used. Reads are
bounded. Kept free of Ansible imports so that the tests can drive it directly.
"""
from __future__ import annotations

import errno
import hashlib
import os
import stat
import time

_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class UnsafeFile(OSError):
    """The path is not what it must be (a symlink, a FIFO, a hard link to another file...)."""

    def __init__(self, path, why):
        super(UnsafeFile, self).__init__(errno.EPERM, why, path)
        self.why = why

    def __str__(self):
        return "%s %s" % (self.filename, self.why)


def _open(path, flags, mode=0o644, dir_fd=None):
    try:
        return os.open(path, flags | _FLAGS, mode, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFile(path, "is a symlink, which is never followed")
        raise


def _regular(fd, path, owner=None):
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFile(path, "is not a regular file")
    # Another name for the same file may be one the app's user could not read (a hard link
    # to a root-only file, where the kernel allows one).
    if info.st_nlink > 1:
        raise UnsafeFile(path, "has %d hard links; the role reads it only with one" % info.st_nlink)
    if owner is not None and info.st_uid != owner:
        raise UnsafeFile(path, "is not a file of the deploying user")
    return info


def readable_by(info, uid, gids):
    """Whether the mode bits of a file's stat let the user uid (in the groups gids) read it."""
    if uid == 0:
        return True
    if info.st_uid == uid:
        return bool(info.st_mode & stat.S_IRUSR)
    if info.st_gid in gids:
        return bool(info.st_mode & stat.S_IRGRP)
    return bool(info.st_mode & stat.S_IROTH)


def read_regular(path, max_bytes, offset=0, owner=None, tail=False, reader=None, dir_fd=None):
    """Up to max_bytes of a regular file (of the user `owner`, if given), from offset, or its
    last max_bytes with tail. FileNotFoundError if it is absent. With reader, (uid, gids), only
    a file that user may read by its mode: root never reads for a process what it could not.
    With dir_fd, path is relative to that directory's descriptor."""
    fd = _open(path, os.O_RDONLY, dir_fd=dir_fd)
    try:
        info = _regular(fd, path, owner)
        if reader is not None and not readable_by(info, *reader):
            raise UnsafeFile(path, "is not readable by uid %d, which named it" % reader[0])
        if tail:
            offset = max(0, info.st_size - max_bytes)
        if offset:
            os.lseek(fd, offset, os.SEEK_SET)
        chunks, left = [], max_bytes
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def sha256(path):
    """The SHA-256 of a regular file, never read through a link or from a FIFO; '' for anything
    else, or nothing. Hard links are allowed: a source tree or a release may be made of them."""
    try:
        fd = _open(path, os.O_RDONLY)
    except OSError:
        return ""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return ""
        digest = hashlib.sha256()
        for chunk in iter(lambda: os.read(fd, 1 << 16), b""):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        os.close(fd)


def regular_stat(path):
    """The stat of a regular file, taken on the file itself (not a link); None if it is absent."""
    try:
        fd = _open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        return _regular(fd, path)
    finally:
        os.close(fd)


def touch_forward(path):
    """Move a regular file's mtime strictly forward, creating it if absent (never a link's
    target). uWSGI compares whole seconds, so the new time is at least one second later."""
    fd = _open(path, os.O_WRONLY | os.O_CREAT)
    try:
        info = _regular(fd, path)
        stamp = max(time.time(), info.st_mtime + 1)
        os.utime(fd, (stamp, stamp))
    finally:
        os.close(fd)


def write_fifo(path, data):
    """Write to a FIFO that a reader holds open; a path that is anything else gets nothing.
    OSError ENXIO when no reader has it open, ENOENT when it is missing."""
    fd = _open(path, os.O_WRONLY)
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            raise UnsafeFile(path, "is not a FIFO")
        if data:
            os.write(fd, data)
    finally:
        os.close(fd)
