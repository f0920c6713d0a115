# -*- coding: utf-8 -*-
"""The releases of a role-managed app on its server: what is live, what was recorded, pruning.

A deploy that answered its health check records what it made live (the digest of its inputs,
the release, the virtualenv, the content of its config files) in ROOT/.wsgi-deploy-live.json.
A later deploy with the same inputs finds that record still true and has nothing to do. The
record names what it vouches for (release, virtualenv, config content): a deploy cut off after it
changed any of these leaves a record that no longer holds, and the next deploy reloads.

Pure functions over paths, each taking check_mode; no Ansible import, so tests drive them directly.
"""
from __future__ import annotations

import errno
import json
import os
import pwd
import shutil
import stat
import time

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import app_env, app_files, source_tree

RECORD = ".wsgi-deploy-live.json"
# Written into a virtualenv once everything the deploy asked for is installed in it.
VENV_COMPLETE = ".wsgi-deploy-complete"
VENV_MARKER = ".wsgi-deploy-venv"
# Written into a release: the digest of what it holds (source and shared paths).
RELEASE_MARKER = ".wsgi-deploy-release"
# Written into a release once it answered its health check as the live one: a rollback goes
# back only to such a release, never to one that a failed or cut-off deploy left.
WENT_LIVE_MARKER = ".wsgi-deploy-went-live"
# Written into a release each time a deploy records it as live: that record, which a rollback to
# the release makes the live record again (the next deploy of what is live then has nothing to do).
RELEASE_RECORD = ".wsgi-deploy-record.json"
# Written into a release: the server's config files and unit as it went live with them, which a
# rollback by hand to it puts back ({path: content}).
CONFIG_KEPT = ".wsgi-deploy-config.json"
CONFIG_MAX_BYTES = 1 << 20
PARTIAL = ".partial"
RECORD_MAX_BYTES = 1 << 16
ENV_MAX_BYTES = 1 << 20
LOCK_POLL_SECONDS = 0.2


class ReleaseError(Exception):
    """Something under the app's root is not what the role made; msg says what."""

    def __init__(self, msg):
        super(ReleaseError, self).__init__(msg)
        self.msg = msg


def _link_name(path, parent):
    """The entry under `parent` that the symlink `path` names, or '' if it is not such a link."""
    try:
        target = os.readlink(path)
    except OSError:
        return ""
    head, name = os.path.split(target.rstrip("/"))
    return name if head == parent and name not in ("", ".", "..") else ""


def _open_own_file(path, max_bytes):
    """Read a regular file that the deploying user owns, never through a symlink or a FIFO."""
    try:
        data = app_files.read_regular(path, max_bytes + 1, owner=os.geteuid())
    except FileNotFoundError:
        return None
    except app_files.UnsafeFile as exc:
        raise ReleaseError(str(exc))
    except OSError as exc:
        raise ReleaseError("cannot read %s: %s" % (path, exc.strerror))
    if len(data) > max_bytes:
        raise ReleaseError("%s is larger than %d bytes" % (path, max_bytes))
    return data


def read_record(root):
    return _read_json(os.path.join(root, RECORD))


def _read_json(path):
    """A record the role wrote: {} when there is none or it is not JSON; ReleaseError when the
    path is not a regular file of the deploying user."""
    data = _open_own_file(path, RECORD_MAX_BYTES)
    if data is None:
        return {}
    try:
        record = json.loads(data.decode("utf-8"))
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def deploying_user():
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def _marker(path):
    try:
        data = _open_own_file(path, 256)
    except ReleaseError:
        return ""
    return (data or b"").decode("utf-8", "replace").strip()


def release_env(root, release):
    """The app's environment that the release holds (app_env.FILE_NAME, written by the deploying
    user), {} if it holds none."""
    data = _open_own_file(os.path.join(root, "releases", release, app_env.FILE_NAME), ENV_MAX_BYTES)
    return app_env.parse(data.decode("utf-8", "replace")) if data else {}


def masked(lines, root, *names):
    """Lines a module quotes (a log, an answer) with the settings of the live release under root,
    and of the releases named, masked (app_env.mask). Only text is masked, never a result's paths
    or names: a short value may be part of one."""
    if not root or not lines:
        return lines
    for name in set(filter(None, names + (live(root)["release"],))):
        try:
            lines = app_env.mask(lines, release_env(root, name))
        except (ReleaseError, OSError):
            continue
    return lines


def live(root):
    """The release and the virtualenv that ROOT/current and ROOT/venv point at ('' if none), and
    the key the live release was built with ('' for a release made before keys)."""
    release = _link_name(os.path.join(root, "current"), "releases")
    key = _marker(os.path.join(root, "releases", release, RELEASE_MARKER)) if release else ""
    return {"release": release, "release_key": key,
            "venv": _link_name(os.path.join(root, "venv"), "venvs")}


def complete_releases(root):
    """The names of the complete releases, oldest first (names sort by time)."""
    releases_dir = os.path.join(root, "releases")
    return [name for name in _entries(releases_dir)
            if not name.endswith(PARTIAL) and os.path.isdir(os.path.join(releases_dir, name))
            and not os.path.islink(os.path.join(releases_dir, name))]


def release_names(root):
    """Every entry of releases/ that is a directory, complete or cut off (PARTIAL), sorted."""
    releases_dir = os.path.join(root, "releases")
    return [name for name in _entries(releases_dir)
            if os.path.isdir(os.path.join(releases_dir, name)) and not os.path.islink(os.path.join(releases_dir, name))]


def went_live_releases(root):
    """The complete releases that answered their health check as the live one, oldest first."""
    return [name for name in complete_releases(root)
            if _marker(os.path.join(root, "releases", name, WENT_LIVE_MARKER))]


def mark_went_live(root, release, check_mode=False):
    """Note in the live release that it answered as the live one. Returns whether it was new."""
    if live(root)["release"] != release or not release:
        raise ReleaseError("the live release is no longer %s: it was not marked as gone live" % release)
    path = os.path.join(root, "releases", release, WENT_LIVE_MARKER)
    if _marker(path):
        return False
    if not check_mode:
        _write_atomically(path, (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + "\n").encode("utf-8"))
    return True


def venv_ready(root, venv):
    return bool(venv) and os.path.isfile(os.path.join(root, "venvs", venv, VENV_COMPLETE))


def vouched(root, record):
    """Whether what is live (release, virtualenv, config files) is what the recorded deploy made
    live and reloaded the server onto. If not, a deploy cut off before its reload may have left the
    server running something else than what is live."""
    if not record:
        return False
    now = live(root)
    files = record.get("files")
    return (bool(now["release"]) and record.get("release") == now["release"] and record.get("venv") == now["venv"]
            and isinstance(files, dict) and all(app_files.sha256(path) == sha for path, sha in files.items()))


def differences(root, record, digest, venv, files):
    """Why the record does not describe a live deploy of these inputs; empty when it does."""
    if not record:
        return ["no deploy recorded as live"]
    now = live(root)
    found = []
    if record.get("digest") != digest:
        found.append("the inputs differ from those of the live deploy")
    if not now["release"] or record.get("release") != now["release"]:
        found.append("current no longer points at the recorded release")
    if record.get("venv") != now["venv"] or now["venv"] != venv:
        found.append("the virtualenv differs from the recorded one")
    for path, sha in sorted(files.items()):
        if app_files.sha256(path) != sha:
            found.append("%s differs from what these inputs make" % path)
    return found


def inspect(root, digest="", venv="", files=None):
    """What is live under ROOT and whether it is what these inputs would make; never acts."""
    files = files or {}
    try:
        record = read_record(root) if os.path.isdir(root) else {}
        reasons = differences(root, record, digest, venv, files) if digest else ["no inputs given"]
        trusted = vouched(root, record)
    except ReleaseError as exc:
        # Not a record the role wrote: no deploy is vouched for, and the next record replaces it.
        record, reasons, trusted = {}, [exc.msg], False
    return {"user": deploying_user(), "live": live(root), "record": record, "vouched": trusted,
            "releases": complete_releases(root), "went_live": went_live_releases(root),
            "venv_ready": venv_ready(root, venv), "unchanged": not reasons, "reasons": reasons,
            "files_matching": sorted(path for path, sha in files.items() if app_files.sha256(path) == sha)}


def dest_record_path(dest):
    """Where the record of a directory deployed into in place lives: beside it, as its lock does,
    so that no sync can carry it away."""
    dest = dest.rstrip("/") or "/"
    return os.path.join(os.path.dirname(dest), "." + os.path.basename(dest) + ".deploy-live.json")


def _dest_snapshot(dest, exclude):
    return source_tree.tree_digest(dest, exclude)


def inspect_dest(dest, digest, exclude):
    """A directory deployed into in place (a server set up by hand). The record beside it vouches
    that a deploy of these inputs went live (reloaded, answered); the directory is unchanged
    when it also still holds what it held then. Logs or a pidfile inside it, unless excluded,
    change it all the time: such a deploy then syncs, and reloads only if the sync changed code."""
    try:
        record = _read_json(dest_record_path(dest))
    except ReleaseError:
        record = {}
    trusted = bool(record) and record.get("digest") == digest
    if not record:
        reasons = ["no deploy recorded as live"]
    elif not trusted:
        reasons = ["the inputs differ from those of the live deploy"]
    else:
        try:
            same = record.get("dest") == _dest_snapshot(dest, exclude)
        except OSError:
            same = False
        reasons = [] if same else ["%s changed since the recorded deploy" % dest]
    return {"record": record, "vouched": trusted, "unchanged": not reasons, "reasons": reasons}


def record_dest(dest, digest, exclude, check_mode=False):
    """Record what the directory holds now as the deploy of these inputs. Returns whether anything changed."""
    wanted = {"digest": digest, "dest": _dest_snapshot(dest, exclude)}
    path = dest_record_path(dest)
    try:
        if _read_json(path) == wanted:
            return False
    except ReleaseError:
        # Not a record the role wrote, or a link: replaced by one that is, never followed.
        pass
    if not check_mode:
        _write_atomically(path, (json.dumps(wanted, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    return True


def _write_atomically(path, data, dir_fd=None):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dir_fd)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def record(root, digest, venv, files, prepared="", release="", check_mode=False):
    """Record what is live now as the deploy of these inputs. Returns whether anything changed.

    `release` and `venv` are what this deploy made live: if something else is live by now (a
    rollback ran meanwhile), nothing is recorded."""
    now = live(root)
    if not now["release"]:
        raise ReleaseError("%s/current does not point at a release: nothing to record" % root)
    if (release and now["release"] != release) or (venv and now["venv"] != venv):
        raise ReleaseError("the live release changed while this deploy ran (%s with virtualenv %s, not %s with %s): "
                           "nothing was recorded" % (now["release"], now["venv"], release, venv))
    wanted = {"digest": digest, "release": now["release"], "venv": now["venv"],
              "files": {path: app_files.sha256(path) for path in sorted(files)}, "prepared": prepared}
    return _write_record(root, now["release"], wanted, check_mode)


def _write_record(root, release, wanted, check_mode):
    """The live record, and its copy in the release it names. Returns whether the live one changed."""
    data = (json.dumps(wanted, indent=1, sort_keys=True) + "\n").encode("utf-8")
    kept = os.path.join(root, "releases", release, RELEASE_RECORD)
    try:
        if _open_own_file(kept, RECORD_MAX_BYTES) != data and not check_mode:
            _write_atomically(kept, data)
    except ReleaseError:
        pass  # a link or a file of another user in its place: the release keeps no record
    try:
        if read_record(root) == wanted:
            return False
    except ReleaseError:
        pass  # not a record the role wrote: replaced by one that is
    if not check_mode:
        _write_atomically(os.path.join(root, RECORD), data)
    return True


def restore_record(root, check_mode=False):
    """After a rollback that answered: the record the live release kept when it was last recorded
    as live becomes the live record again. Returns whether there was one."""
    release = live(root)["release"]
    kept = _read_json(os.path.join(root, "releases", release, RELEASE_RECORD)) if release else {}
    if not kept or kept.get("release") != release:
        return False
    _write_record(root, release, kept, check_mode)
    return True


def _entries(path):
    try:
        return sorted(entry for entry in os.listdir(path))
    except FileNotFoundError:
        return []


def _venv_of(release_dir):
    return _marker(os.path.join(release_dir, VENV_MARKER))


def plan_prune(root, keep):
    """The releases, interrupted syncs and virtualenvs to remove: never the live ones, never a
    virtualenv that a kept release names (a rollback to it must find it)."""
    now = live(root)
    releases_dir = os.path.join(root, "releases")
    partial = [name for name in _entries(releases_dir)
               if name.endswith(PARTIAL) and os.path.isdir(os.path.join(releases_dir, name))
               and not os.path.islink(os.path.join(releases_dir, name))]
    complete = complete_releases(root)
    old = complete[:-keep] if keep > 0 else list(complete)
    remove = [name for name in old + partial if name != now["release"]]
    kept = [name for name in complete if name not in remove]
    used = set(_venv_of(os.path.join(releases_dir, name)) for name in kept) | {now["venv"]}
    venvs_dir = os.path.join(root, "venvs")
    venvs = [name for name in _entries(venvs_dir)
             if os.path.isdir(os.path.join(venvs_dir, name)) and not os.path.islink(os.path.join(venvs_dir, name))
             and name not in used]
    return {"releases": [os.path.join(releases_dir, name) for name in remove],
            "venvs": [os.path.join(venvs_dir, name) for name in venvs]}


def prune(root, keep, check_mode=False):
    plan = plan_prune(root, keep)
    if not check_mode:
        for path in plan["releases"] + plan["venvs"]:
            shutil.rmtree(path)
    return plan


def _read_holder(parent_fd, name):
    """Who holds the lock `name` in the directory parent_fd: {} when that is not known."""
    try:
        fd = _own_lock_dir(parent_fd, name)
    except (OSError, ReleaseError):
        return {}
    try:
        data = app_files.read_regular("owner", 4096, owner=os.geteuid(), dir_fd=fd)
        holder = json.loads(data.decode("utf-8")) if data else {}
    except (OSError, ValueError):
        holder = {}
    finally:
        os.close(fd)
    return holder if isinstance(holder, dict) else {}


def _own_lock_dir(parent_fd, name):
    """The lock directory `name` in parent_fd, opened without following a link, and only if the
    deploying user owns it: beside a directory set up by hand, its parent may be the app's user's,
    who could put something else in its place between two calls. Every later step goes through
    this descriptor, which names the directory that was checked."""
    fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    info = os.fstat(fd)
    if info.st_uid != os.geteuid():
        os.close(fd)
        raise ReleaseError("%s is not a directory of the deploying user" % name)
    return fd


def _open_parent(path):
    """The directory that holds path, and path's name in it."""
    parent, name = os.path.split(path.rstrip("/"))
    return os.open(parent or "/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC), name


def holder_gone(holder, owner, controller_pids):
    """Whether the lock's holder is a deploy from this same controller whose ansible-playbook no
    longer runs there. Only such a holder can be known to be gone; any other is waited for. The
    controller's processes were listed from owner's pid_view (its PID namespace): a holder seen
    from another, or a listing that hides some processes (hidepid), proves nothing."""
    if not holder.get("controller") or holder.get("controller") != owner.get("controller"):
        return False
    view = owner.get("pid_view")
    if not view or holder.get("pid_view") != view or str(view).endswith(":partial"):
        return False
    try:
        pid = int(holder.get("pid"))
    except (TypeError, ValueError):
        return False
    return pid > 0 and pid not in set(controller_pids)


def take_lock(lock, owner, controller_pids=(), timeout=0.0, check_mode=False,
              clock=time.monotonic, sleep=time.sleep):
    """Make the lock directory and name its holder in it, waiting up to `timeout` seconds for a
    deploy that holds it, and breaking a lock that a gone deploy from this controller left.

    mkdir is atomic: of two deploys, one makes the directory and the other learns who holds it.
    Everything is done relative to the lock's parent directory, and the holder is written into
    the directory made only once it is opened and checked (_own_lock_dir).
    """
    if check_mode:
        return {"taken": True, "broke": {}}
    deadline = clock() + timeout
    broke = {}
    try:
        parent_fd, name = _open_parent(lock)
    except OSError as exc:
        return {"taken": False, "holder": {}, "broke": broke, "error": "cannot open the directory of %s: %s"
                % (lock, exc.strerror)}
    try:
        while True:
            try:
                os.mkdir(name, 0o755, dir_fd=parent_fd)
                break
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    return {"taken": False, "holder": {}, "broke": broke,
                            "error": "cannot make %s: %s" % (lock, exc.strerror)}
            holder = _read_holder(parent_fd, name)
            if holder_gone(holder, owner, controller_pids):
                _drop_at(parent_fd, name)
                broke = holder
                continue
            if clock() >= deadline:
                return {"taken": False, "holder": holder, "broke": broke, "error": ""}
            sleep(LOCK_POLL_SECONDS)
        try:
            lock_fd = _own_lock_dir(parent_fd, name)
        except (OSError, ReleaseError):
            return {"taken": False, "holder": {}, "broke": broke,
                    "error": "%s was replaced right after it was made, by a user who can write %s: nothing was "
                             "written into it, and no deploy runs. Give that directory to the deploying user"
                             % (lock, os.path.dirname(lock))}
        try:
            _write_atomically("owner", (json.dumps(owner, sort_keys=True) + "\n").encode("utf-8"), dir_fd=lock_fd)
        finally:
            os.close(lock_fd)
    finally:
        os.close(parent_fd)
    return {"taken": True, "broke": broke}


def mark_left(path):
    """Whether the mark `path` (a drain mark, made as a lock is) is there, made by the deploying
    user: a directory of its own, never looked at through a link. ReleaseError when something
    else stands there: beside a directory set up by hand, the app's user could have made it."""
    try:
        parent_fd, name = _open_parent(path)
    except FileNotFoundError:
        return False
    try:
        try:
            fd = _own_lock_dir(parent_fd, name)
        except FileNotFoundError:
            return False
        except (OSError, ReleaseError):
            raise ReleaseError("%s is not a mark the deploying user made (a directory of its own)" % path)
        os.close(fd)
        return True
    finally:
        os.close(parent_fd)


def drop_lock(lock, check_mode=False):
    """Remove the lock; whether there was one."""
    try:
        parent_fd, name = _open_parent(lock)
    except FileNotFoundError:
        return False
    try:
        try:
            os.lstat(name, dir_fd=parent_fd)
        except FileNotFoundError:
            return False
        if not check_mode:
            _drop_at(parent_fd, name)
        return True
    finally:
        os.close(parent_fd)


def _drop_at(parent_fd, name):
    """Remove the lock `name` in parent_fd: a directory of the deploying user, emptied of its files
    through its own descriptor; anything else in its place is only unlinked, never followed."""
    try:
        fd = _own_lock_dir(parent_fd, name)
    except (OSError, ReleaseError):
        try:
            os.unlink(name, dir_fd=parent_fd)
        except IsADirectoryError:
            raise ReleaseError("%s is a directory the deploying user does not own; it is left alone" % name)
        return
    try:
        for entry in os.listdir(fd):
            os.unlink(entry, dir_fd=fd)
    finally:
        os.close(fd)
    try:
        os.rmdir(name, dir_fd=parent_fd)
    except NotADirectoryError:
        # Swapped for a link meanwhile: the link goes, the directory it displaced is empty.
        os.unlink(name, dir_fd=parent_fd)
    except FileNotFoundError:
        pass


def _symlink_atomically(target, path):
    """Point the symlink `path` at `target` by renaming a new link over it. Returns whether it changed."""
    if os.path.islink(path) and os.readlink(path) == target:
        return False
    if os.path.lexists(path) and not os.path.islink(path):
        raise ReleaseError("%s is not a symlink; the role will not replace it" % path)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    os.symlink(target, tmp)
    os.rename(tmp, path)
    return True


def read_config(paths):
    """{path: content} of the server's config files that exist, each a regular file of the
    deploying user, as a release keeps them (CONFIG_KEPT)."""
    kept = {}
    for path in paths:
        data = _open_own_file(path, CONFIG_MAX_BYTES)
        if data is not None:
            kept[path] = data.decode("utf-8", "surrogateescape")
    return kept


def restore_config(root, release, paths, check_mode=False):
    """Put back the config files that the release kept (read_config), those among `paths` (the
    files the role manages) that differ now. Returns the paths put back. A release from before
    releases kept their config has none: the config stays as it is."""
    data = _open_own_file(os.path.join(root, "releases", release, CONFIG_KEPT), CONFIG_MAX_BYTES * 4)
    if data is None:
        return []
    try:
        kept = json.loads(data.decode("utf-8"))
    except ValueError:
        raise ReleaseError("%s is not the config a release keeps" % os.path.join(root, "releases", release, CONFIG_KEPT))
    put_back = []
    for path in paths:
        if not isinstance(kept, dict) or not isinstance(kept.get(path), str):
            continue
        wanted = kept[path].encode("utf-8", "surrogateescape")
        if _open_own_file(path, CONFIG_MAX_BYTES) == wanted:
            continue
        if not check_mode:
            _write_atomically(path, wanted)
        put_back.append(path)
    return put_back


def build(root, name, key, venv, shared, check_mode=False, writable=(), writer=None, config=None):
    """Complete the synced release ROOT/releases/NAME.partial: note its key and its virtualenv
    (and the server's config it goes live with, {path: content}), link the shared paths into it,
    hand the `writable` directories in it to `writer` (uid, gid) for its release commands, and
    give it its name, which only a complete release gets."""
    releases_dir = os.path.join(root, "releases")
    partial = os.path.join(releases_dir, name + PARTIAL)
    final = os.path.join(releases_dir, name)
    if check_mode:
        return True
    if os.path.islink(partial) or not os.path.isdir(partial):
        raise ReleaseError("%s is not the synced release directory" % partial)
    if os.path.lexists(final):
        raise ReleaseError("%s exists already" % final)
    # Every path is checked before anything in the release changes.
    links = [_shared_link(partial, relpath) for relpath in sorted(shared)]
    _write_atomically(os.path.join(partial, RELEASE_MARKER), (key + "\n").encode("utf-8"))
    _write_atomically(os.path.join(partial, VENV_MARKER), (venv + "\n").encode("utf-8"))
    if config:
        _write_atomically(os.path.join(partial, CONFIG_KEPT), json.dumps(config, sort_keys=True).encode("utf-8"))
    for relpath, link in links:
        # The sync made what is there from the source: a shared path inside the source is
        # replaced by the link, and never followed.
        parent = os.path.dirname(link)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        if os.path.lexists(link):
            if stat.S_ISDIR(os.lstat(link).st_mode):
                shutil.rmtree(link)
            else:
                os.unlink(link)
        os.symlink(os.path.join(root, "shared", relpath), link)
    for relpath in sorted(writable):
        _writable_dir(partial, relpath, writer)
    os.rename(partial, final)
    return True


def _shared_link(partial, relpath, what="shared path"):
    """Where the link for a shared path goes in the release, refused if any directory on the way
    is a symlink (the source's own `static -> /elsewhere` would take the link, and a removal,
    out of the release) or not a directory."""
    parts = relpath.strip("/").split("/")
    if not relpath.strip("/") or "" in parts or "." in parts or ".." in parts or "\0" in relpath:
        raise ReleaseError("%s %r must be a path inside the release" % (what, relpath))
    here = partial
    for part in parts[:-1]:
        here = os.path.join(here, part)
        try:
            mode = os.lstat(here).st_mode
        except FileNotFoundError:
            continue
        if not stat.S_ISDIR(mode):
            raise ReleaseError("%s %s cannot be made in the release: %s in the source is %s, not a "
                               "directory" % (what, relpath, here[len(partial) + 1:],
                                              "a symlink" if stat.S_ISLNK(mode) else "a file"))
    return relpath.strip("/"), os.path.join(partial, *parts)


def _writable_dir(partial, relpath, writer):
    """Make (or take) the directory relpath in the release, and give it, alone, to the writer
    until seal() takes it back: a directory is never a hard link, so no file of another release
    changes hands."""
    relpath, path = _shared_link(partial, relpath, "the release commands' directory")
    if not os.path.lexists(path):
        os.makedirs(path, 0o755)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise ReleaseError("%s cannot be made writable for the release commands: in the source it is %s, not a "
                           "directory" % (relpath, "a symlink" if stat.S_ISLNK(info.st_mode) else "a file"))
    os.chown(path, writer[0], writer[1], follow_symlinks=False)
    # The release is the deploying user's alone until it is renamed: nothing swapped the directory.
    os.chmod(path, 0o755)


def seal(root, release, writable, group):
    """Take the writable directories of a release back from the app's user once its release
    commands ran, before the release goes live: rsync compares later releases against it as root,
    and a live release holds nothing of the app's user. Like the synced code, what is left there
    belongs to the deploying user and the app's `group`, readable by no one else.

    Walked by descriptor, never through a link: each directory is taken back before its entries
    are read, so that nothing new appears in it meanwhile. Anything but a directory or a regular
    file with a single link is refused."""
    owner = (os.geteuid(), group)
    for relpath in sorted(writable):
        relpath, path = _shared_link(os.path.join(root, "releases", release), relpath, "the release commands' directory")
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            raise ReleaseError("cannot take back %s after the release commands: %s" % (path, exc.strerror))
        try:
            _seal_dir(fd, relpath, owner)
        finally:
            os.close(fd)


def _seal_dir(fd, where, owner):
    os.fchown(fd, *owner)
    os.fchmod(fd, 0o750)
    for name in sorted(os.listdir(fd)):
        here = where + "/" + name
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        flags |= os.O_DIRECTORY if stat.S_ISDIR(info.st_mode) else 0
        try:
            child = os.open(name, flags, dir_fd=fd)
        except OSError as exc:
            raise ReleaseError("%s, which a release command left, cannot be taken back: %s (leave only files and "
                               "directories there)" % (here, exc.strerror))
        try:
            info = os.fstat(child)
            if stat.S_ISDIR(info.st_mode):
                _seal_dir(child, here, owner)
                continue
            if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
                raise ReleaseError("%s, which a release command left, is %s: leave only files and directories there"
                                   % (here, "a hard link" if stat.S_ISREG(info.st_mode) else "not a regular file"))
            os.fchown(child, *owner)
            os.fchmod(child, stat.S_IMODE(info.st_mode) & 0o750)
        finally:
            os.close(child)


def switch(root, release="", venv="", check_mode=False):
    """Point venv, then current, at the new virtualenv and release, each by one rename."""
    changed = []
    for link, parent, name in (("venv", "venvs", venv), ("current", "releases", release)):
        if not name:
            continue
        target = os.path.join(root, parent, name)
        path = os.path.join(root, link)
        relative = parent + "/" + name
        # In check mode a new release exists only on the controller.
        if not check_mode and (not os.path.isdir(target) or os.path.islink(target)):
            raise ReleaseError("%s is not a directory the role made" % target)
        if check_mode:
            if not (os.path.islink(path) and os.readlink(path) == relative):
                changed.append(link)
        elif _symlink_atomically(relative, path):
            changed.append(link)
    return changed
