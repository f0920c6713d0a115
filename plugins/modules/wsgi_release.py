#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: wsgi_release
short_description: Inspect, lock, record and prune the releases of a WSGI app deployed by wsgi_deploy
description:
  - The steps of a deploy that Ansible has no single module for, each in one call on the server.
  - O(state=inspected) reports what is live under O(root) (the release C(current) points at, the
    virtualenv C(venv) points at), who runs the module, whether the virtualenv O(venv) is complete,
    and whether the live deploy was recorded with the inputs O(digest) and still holds them (same
    release, same virtualenv, O(files) with the given content). With O(server), it also reports
    whether the server's master runs, as M(graceful.wsgi_deploy.wsgi_reload) with O(state=status)
    does; with O(unit), the main PID systemd knows for that unit.
  - O(state=inspected) refuses, changing nothing, a server the deploy cannot reach safely. A pidfile
    that names a live process that is not the master; a systemd O(unit) whose master cannot be found,
    or without root; a server set up by hand (O(dest)) that is not running, whose O(dest) is not a
    directory, or, with O(method), that the reload by O(method) cannot work on (checked as
    M(graceful.wsgi_deploy.wsgi_reload) checks before it reloads); an O(app_user) other than its own
    user without root.
  - With O(lock), O(state=inspected) also takes the deploy lock when the live deploy is not the deploy
    of O(digest) (a deploy with something to do), as O(state=locked) does, unless the server's
    pidfile names a process that is not its master. If, under the lock, the deploy that held it
    turns out to have made these inputs live, it releases the lock again. Otherwise it changes nothing.
  - O(state=locked) takes the deploy lock O(lock) (a directory, made atomically) and names its holder
    in it, waiting up to O(timeout) for another deploy that holds it; it fails, changing nothing,
    if that deploy keeps it longer. With O(root), it then reports what O(state=inspected) does, as
    seen under the lock.
  - O(state=unlocked) removes the lock.
  - O(state=switched) with O(release_key) first completes the release O(release) that the sync copied
    into C(releases/RELEASE.partial). It writes O(release_key) and the virtualenv O(venv) into it,
    replaces each of O(shared) in it by a symlink to C(shared/), and renames it to its final name,
    which only a complete release gets.
  - O(state=switched) then runs O(check), if given, as O(check_user), and fails without switching
    if it fails. Then it points C(venv) at C(venvs/VENV), then C(current) at C(releases/RELEASE),
    each by renaming a new symlink over the old one, so that the server never sees a missing link.
    A link that already points there is left alone.
  - O(state=live) with O(switch) first completes, checks and switches to the release as O(state=switched)
    does; a failure there reloads nothing and returns C(before_switch=true). A deploy whose running
    server needs no other step between the switch and the reload saves a call this way.
  - O(state=live) makes the switched release live, in one call. With O(reload), it reloads O(server)
    by O(method) and waits for the server's own end, as M(graceful.wsgi_deploy.wsgi_reload) does.
    With O(health_url), it then asks the app until it answers as expected, and fails saying what it
    answered otherwise. Once the app answered, with O(root) and O(digest) it records the deploy
    as O(state=recorded) does, with O(keep) prunes, and with O(lock) releases the lock. A record or
    a prune that cannot be made is only a warning, since the new code is live and answers.
  - O(state=recorded) records the live release and virtualenv, and the content of O(files), as the
    deploy of O(digest), once that deploy answered its health check. It refuses, recording nothing,
    when the live release or virtualenv are no longer O(release) and O(venv). With O(keep) it then
    prunes, and with O(lock) it releases the lock.
  - O(state=pruned) removes all but the newest O(keep) releases, interrupted syncs and the
    virtualenvs no kept release uses, never the live ones.
  - O(state=ran) runs O(commands) in the release O(release) (the live one when empty) as O(check_user)
    (never as root, which it refuses),
    with that release's environment and the virtualenv O(venv) (the live one when empty), as release
    commands run; a deploy's hook runs the app's own commands this way. Its output is returned
    with the environment's values masked. In check mode it runs nothing.
version_added: "1.1.0"
author: wsgi-deploy developers (@wsgi-deploy)
options:
  state:
    description: What to do; see the description.
    type: str
    required: true
    choices: [inspected, locked, unlocked, switched, live, recorded, pruned, ran]
  root:
    description: The app's root on the server, holding C(current), C(venv), C(releases/) and C(venvs/).
    type: path
  lock:
    description: The deploy lock, a directory that only one deploy at a time can make.
    type: path
  owner:
    description:
      - Who takes the lock, written into it, with the keys C(controller) (its host name), C(pid) (the
        PID of its ansible-playbook) and C(since).
    type: dict
    default: {}
  controller_pids:
    description:
      - The PIDs of the ansible-playbook processes that run on the controller O(owner) names. A lock
        held from that controller by a PID not among them was left by an interrupted deploy, and is
        broken. A lock held from elsewhere is only waited for.
    type: list
    elements: int
    default: []
  timeout:
    description: Seconds O(state=locked) waits for another deploy's lock before it fails.
    type: float
    default: 0
  digest:
    description: The digest of everything the deploy makes live, worked out on the controller.
    type: str
    default: ""
  venv:
    description: The key of the virtualenv the inputs need, the name of a directory in C(venvs/).
    type: str
    default: ""
  files:
    description: Files on the server, each with the SHA-256 its content must have for the record to hold.
    type: dict
    default: {}
  release_key:
    description:
      - What a release holds (a digest of the source and of the shared paths), which O(state=switched)
        writes into the release it completes. A deploy whose key is the live release's needs no new release.
    type: str
  prepared:
    description: A digest of how the host was prepared (user, directories, packages), kept in the record.
    type: str
    default: ""
  switch:
    description:
      - With O(state=live), first do what O(state=switched) does with the same options (O(release),
        O(release_key), O(venv), O(shared), O(check)), then make the release live.
    type: bool
    default: false
  release:
    description:
      - The name of a release in C(releases/), for O(state=switched) and O(state=recorded).
      - With O(state=live), the release the record names, and with O(switch) the one to switch to.
    type: str
    default: ""
  shared:
    description: Paths inside the release, relative to it, that live in C(shared/) instead.
    type: list
    elements: str
    default: []
  keep:
    description:
      - How many of the newest releases O(state=pruned) keeps, the live one always among them.
      - O(state=recorded) prunes as well when O(keep) is given.
    type: int
  server:
    description:
      - With O(state=inspected), also report whether this server's master runs.
      - With O(state=live), the server to reload.
    type: str
    choices: [gunicorn, uwsgi]
  pidfile:
    description: The server's pidfile, for O(server).
    type: path
  reload:
    description:
      - With O(state=live), whether to reload O(server) first. A server that has just started runs
        the new code already, and an unchanged one needs only the health check.
    type: bool
    default: false
  method:
    description:
      - With O(state=live), the reload method, as O(graceful.wsgi_deploy.wsgi_reload#module:method) of the reload module.
      - With O(state=inspected) and O(dest), the method whose preconditions the server set up by hand must meet.
    type: str
    choices: [hup, usr2, chain, full, fifo, workers]
  fifo_file:
    description: With O(state=live), or O(state=inspected) with O(method), the C(master-fifo) of uWSGI, for O(method=fifo) and O(method=workers).
    type: path
  expected_workers:
    description: With O(state=live), how many workers gunicorn runs once reloaded; as many as before when omitted.
    type: int
  reload_timeout:
    description: With O(state=live), seconds to wait for the reload to end before failing.
    type: float
    default: 120
  reload_file:
    description: The uWSGI C(touch-chain-reload) path, which finds its master without a pidfile.
    type: path
  unit:
    description:
      - With O(state=inspected), a systemd unit whose main PID to report. On a host that does not run
        systemd, O(state=inspected) refuses it.
    type: str
  python:
    description:
      - With O(state=inspected), the interpreter the app's virtualenv is made with. When the virtualenv
        O(venv) is not complete yet, O(state=inspected) refuses an interpreter that cannot make one
        (Debian's C(python3) without C(python3-venv)).
    type: path
  needs_rsync:
    description: With O(state=inspected), refuse a host without C(rsync), which the sync needs.
    type: bool
    default: false
  release_name:
    description:
      - With O(state=inspected), the name a release made now gets (returned as C(stamp)) instead of the
        server's clock, such as one chosen on the controller for every host of a fleet.
      - Releases sort by name. Unless the deploy is unchanged, a name that does not sort after every
        release already there (complete or cut off) is refused, before anything changes.
    type: str
    default: ""
  dest:
    description:
      - A directory that a server set up by hand imports its app from, deployed into in place.
      - With O(state=inspected), whether it exists, and with O(digest) whether it still holds what
        the deploy recorded beside it made live (C(vouched)), and whether that deploy had these
        inputs (C(unchanged)).
      - With O(state=live) and O(digest), once the app answered, records what it holds as the
        deploy of O(digest), in C(.DEST.deploy-live.json) beside it, owned by the deploying user.
    type: path
  exclude:
    description:
      - With O(dest), the rsync exclude patterns of the sync, whose matches in O(dest) (logs, a
        pidfile) are not part of what it holds.
    type: list
    elements: str
    default: []
  check:
    description:
      - With O(state=switched), a command (argv) that must succeed before anything is switched, such
        as an import of the new release's app with its virtualenv.
    type: list
    elements: str
    default: []
  check_user:
    description:
      - The user O(check) runs as, with that user's groups only, in a session of its own; the
        module's own user when omitted. Running as another user needs root, and no C(sudo).
    type: str
  check_cwd:
    description: The directory O(check) runs in.
    type: path
  commands:
    description:
      - With O(state=switched), or O(state=live) and O(switch), commands (argv lists) that must all
        succeed, after O(check) and before anything is switched, such as a database migration.
      - Each runs in the new O(release), as O(check_user), with the release's environment (the
        C(.wsgi-deploy-env) file it holds) and its virtualenv first on C(PATH), as O(check) does.
      - A failing command fails the module quoting the command and the end of its output.
      - They run only for a new release (O(release) given).
      - With O(state=ran), the commands to run, each in O(release) as described there.
    type: list
    elements: list
    default: []
  hold:
    description:
      - With O(state=switched), complete and check the release and run its O(commands), but switch
        nothing. A later call with O(release) and O(venv) (and no O(release_key)) switches, once
        whatever must run in between (a hook) has run.
    type: bool
    default: false
  writable_dirs:
    description:
      - With O(release_key), directories inside the new release (made where the source has none)
        that O(check_user) owns, so that O(commands) can write into them, such as collected static files.
      - Only each directory itself changes hands, never a file that the sync hard-linked to another release.
      - Once O(commands) ran, they are the deploying user's again, with all they hold; anything in them but
        directories and regular files with a single link fails the module before the switch.
    type: list
    elements: str
    default: []
  commands_timeout:
    description: How long each of O(commands) may run, in seconds, before it is killed and counts as failed.
    type: float
    default: 900
  app_user:
    description:
      - With O(state=inspected) and O(root), the user the server runs as. Without root, the module
        refuses any user but its own.
    type: str
  log_file:
    description:
      - With O(state=inspected), a log whose last lines to report, read only as a regular file,
        never through a symlink or from a FIFO. With O(root), one that is there but is not a regular
        file with one link is refused, as is a O(fifo_file) that is there but is not a FIFO.
      - With O(state=live), or O(state=inspected) with O(method), the server's log, read as M(graceful.wsgi_deploy.wsgi_reload) reads it.
    type: path
extends_documentation_fragment:
  - graceful.wsgi_deploy.health
  - graceful.wsgi_deploy.master
notes:
  - The logic lives in the collection's module_utils, C(releases.py); the server's status and its
    reload in C(reload.py), the health check in C(health.py).
  - The record and the lock's owner are read only as regular files of the deploying user, never
    through a symlink.
attributes:
  check_mode:
    description: Reports what it would change and changes nothing.
    support: full
  diff_mode:
    description: The record is the module's own state; there is nothing for a user to compare.
    support: none
"""

EXAMPLES = r"""
- name: Preflight | Look at what is live
  graceful.wsgi_deploy.wsgi_release:
    state: inspected
    root: /srv/shop
    digest: "{{ inputs_digest }}"
    venv: 3f2a9c0d1e4b
    files:
      /srv/shop/etc/gunicorn.conf.py: "{{ config_text | hash('sha256') }}"
    server: gunicorn
    pidfile: /srv/shop/run/server.pid
  register: host

- name: Lock | Take the deploy lock
  graceful.wsgi_deploy.wsgi_release:
    state: locked
    root: /srv/shop
    lock: /srv/shop/.deploy.lock
    owner: {controller: build1, pid: 4242}
  register: lock

- name: Release | Complete the synced release, check its app as the app's user, switch to it
  graceful.wsgi_deploy.wsgi_release:
    state: switched
    root: /srv/shop
    release: 20261128T120000000000Z
    release_key: "{{ source_digest }}"
    venv: 3f2a9c0d1e4b
    shared: [media]
    check: [/srv/shop/venvs/3f2a9c0d1e4b/bin/python, -c, import shop.wsgi]
    check_user: shop
    check_cwd: /srv/shop

- name: Go live | Complete, check and switch to the release, reload, check that it answers, record, prune, unlock
  graceful.wsgi_deploy.wsgi_release:
    state: live
    switch: true
    root: /srv/shop
    release: 20261128T120000000000Z
    release_key: "{{ source_digest }}"
    venv: 3f2a9c0d1e4b
    check: [/srv/shop/venvs/3f2a9c0d1e4b/bin/python, -c, import shop.wsgi]
    check_user: shop
    reload: true
    server: gunicorn
    method: hup
    pidfile: /srv/shop/run/server.pid
    health_url: http://127.0.0.1:8000/
    digest: "{{ inputs_digest }}"
    keep: 5
    lock: /srv/shop/.deploy.lock

- name: Prune | Keep the newest five releases
  graceful.wsgi_deploy.wsgi_release:
    state: pruned
    root: /srv/shop
    keep: 5
"""

RETURN = r"""
user:
  description: The user the module runs as, who owns what the deploy writes.
  returned: state=inspected, and state=locked with O(root) when the lock was taken
  type: str
live:
  description:
    - The release C(current) and the virtualenv C(venv) point at, empty strings for none, and the
      key the live release was built with (empty for one built before keys).
  returned: state=inspected, and state=locked with O(root) when the lock was taken
  type: dict
  sample: {release: 20261128T082745123456Z, release_key: 9b1c0e7d2a4f, venv: 3f2a9c0d1e4b}
releases:
  description: The complete releases in C(releases/), oldest first.
  returned: state=inspected, and state=locked with O(root) when the lock was taken
  type: list
  elements: str
went_live:
  description:
    - The releases that answered their health check as the live one, oldest first. O(state=live)
      with O(root) and O(digest) marks the live release so once it answered.
  returned: state=inspected, and state=locked with O(root) when the lock was taken
  type: list
  elements: str
venv_ready:
  description: Whether the virtualenv O(venv) exists and was completed by a deploy.
  returned: state=inspected
  type: bool
record:
  description: The recorded live deploy, empty if there is none.
  returned: state=inspected
  type: dict
vouched:
  description:
    - Whether what is live (release, virtualenv, config files) is what the recorded deploy made live
      and reloaded the server onto. When not, a deploy cut off before its reload may have left the
      server running something else.
    - With O(dest) instead of O(root), whether the deploy recorded beside O(dest) had the inputs
      O(digest). When not, a deploy cut off between its sync and its reload may have left the
      server running older code than O(dest) holds.
  returned: state=inspected, and state=locked with O(root) or O(dest) when the lock was taken
  type: bool
log_tail:
  description: The last lines of O(log_file), empty if it is not a regular file.
  returned: state=inspected with O(log_file)
  type: list
  elements: str
unchanged:
  description: Whether the live deploy is recorded with O(digest) and still is what it was.
  returned: state=inspected
  type: bool
files_matching:
  description: Those of O(files) that already hold the given content.
  returned: state=inspected, and state=locked with O(root) when the lock was taken
  type: list
  elements: str
reasons:
  description: Why the live deploy is not the deploy of O(digest), in words; empty when unchanged.
  returned: state=inspected
  type: list
  elements: str
status:
  description:
    - With O(server), whether its master runs, as M(graceful.wsgi_deploy.wsgi_reload) reports it
      (C(running), C(master_pid), C(workers), C(foreign), C(reason)).
  returned: state=inspected and O(server) given
  type: dict
stamp:
  description: A name for a release made now, O(release_name) or else the server's UTC time to the microsecond.
  returned: state=inspected
  type: str
  sample: 20261128T082745123456Z
dest_is_dir:
  description: Whether O(dest) is a directory.
  returned: state=inspected and O(dest) given
  type: bool
main_pid:
  description: The main PID systemd has for O(unit), 0 when it runs none.
  returned: state=inspected and O(unit) given
  type: int
taken:
  description: Whether this call took the lock.
  returned: state=locked, state=inspected
  type: bool
unlocked:
  description: Whether this call released the lock.
  returned: state=recorded, state=pruned
  type: bool
broke:
  description: The owner of a lock left by an interrupted deploy, which this call broke; empty if none.
  returned: state=locked
  type: dict
holder:
  description: The owner written into a lock that another deploy still holds.
  returned: failure of state=locked
  type: dict
built:
  description: Whether the release O(release) was completed from its C(.partial) copy.
  returned: state=switched, and state=live with O(switch)
  type: bool
switched:
  description:
    - The links that now point elsewhere, C(venv) and C(current), in that order.
    - With O(state=live) and O(switch), also in a failed result, so that the caller knows what to switch back.
  returned: state=switched, and state=live with O(switch)
  type: list
  elements: str
before_switch:
  description: True when O(state=live) with O(switch) failed before it switched anything, and so reloaded nothing.
  returned: failure of state=live with O(switch), before the switch
  type: bool
reloaded:
  description:
    - Whether the server was reloaded and its reload ended well; with it, the facts that
      M(graceful.wsgi_deploy.wsgi_reload) returns (C(method), C(master_pid), C(old_pids),
      C(new_pids), C(duration_s), C(started_at), C(trigger), C(ended_by), C(log_file), C(log_lines)).
  returned: state=live
  type: bool
health:
  description: The health check's answer (C(url), C(status), C(content), C(attempts), C(duration_s), C(problem)).
  returned: state=live with health_url, not in check mode
  type: dict
recorded:
  description: Whether the record now holds this deploy (false when it already did, or could not be written).
  returned: state=live with root or dest, and digest
  type: bool
removed:
  description: The releases and virtualenvs removed (or that would be, in check mode).
  returned: state=pruned, and state=recorded or state=live with O(keep)
  type: list
  elements: str
release:
  description: The release O(state=ran) ran the commands in.
  returned: state=ran
  type: str
  sample: 20261128T082745123456Z
output:
  description:
    - The last lines (up to 12) of each command's output, in the order they ran, the values of the
      release's environment masked.
  returned: state=ran
  type: list
  elements: list
  sample: [["Operations to perform:", "  Apply all migrations: notes", "No migrations to apply."]]
"""

import grp
import os
import pwd
import shutil
import stat
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import app_files, health, releases
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes as procs
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import server_log
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import (
    MASTER_ARGUMENT_SPEC, ReloadError, reload_server, server_status)
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import prepare as prepare_reload

CHECK_SECONDS = 300


def _systemd_runs():
    """Whether systemd is this host's service manager (as sd_booted() decides)."""
    return os.path.isdir("/run/systemd/system")


def _cannot_make_venv(python):
    """Why `python -m venv` would fail here (its stdlib's venv or ensurepip missing), or ""."""
    try:
        done = subprocess.run([python, "-c", "import ensurepip, venv"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return "" if done.returncode == 0 else ((done.stderr.strip().splitlines() or ["exit %d" % done.returncode])[-1])


def _main_pid(module, unit):
    systemctl = module.get_bin_path("systemctl", required=True)
    code, out, err = module.run_command([systemctl, "show", "--property=MainPID", "--value", unit])
    if code != 0:
        module.fail_json(msg="systemctl show %s failed: %s" % (unit, err.strip()))
    return int(out.strip() or 0)


def _view(params):
    # Without a root (a server set up by hand) there is no release: nothing is live. Its record,
    # beside its directory, vouches for what that directory holds.
    view = releases.inspect(params["root"] or "/nonexistent", params["digest"], params["venv"], params["files"])
    if not params["root"] and params["dest"] and params["digest"] and os.path.isdir(params["dest"]):
        view.update(releases.inspect_dest(params["dest"], params["digest"], params["exclude"]))
    return view


def _lock(module, params):
    """Take the lock or fail saying who holds it; under it, what is live, and the record forgotten."""
    check = module.check_mode
    result = releases.take_lock(params["lock"], params["owner"], params["controller_pids"], params["timeout"], check)
    if result["broke"]:
        module.warn("broke the lock %s left by an interrupted deploy (%s), which no longer runs"
                    % (params["lock"], _holder_text(result["broke"])))
    if not result["taken"]:
        waited = (params["lock"], _holder_text(result["holder"]), _seconds(params["timeout"]))
        module.fail_json(msg=result["error"] or (
            "another deploy holds the lock %s (%s); waited %ss. If no deploy is running, remove "
            "that directory. Nothing was changed." % waited), **result)
    if params["root"] or params["dest"]:
        # Seen under the lock: another deploy may have changed what is live meanwhile.
        result.update(_view(params))
    return result


def _note_status(result, params):
    """With a server, whether its master runs; a deploy whose server does not run is not unchanged."""
    if params["server"]:
        result["status"] = server_status(params)
        if not result["status"]["running"] and result.get("unchanged"):
            result.update(unchanged=False, reasons=["the server is not running"])


def _refusals(params, result):
    """What the server shows that the deploy must not go on with; each leaves everything as it was."""
    status, found = result.get("status") or {}, []
    if status.get("foreign"):
        # A stale pidfile naming some other live process: never signalled, never taken for the server.
        found.append("%s. Point %s at the server's master, or remove it if the server is not running."
                     % (status["reason"], params["pidfile"]))
    if params["unit"] and not status.get("running") and result.get("main_pid"):
        found.append("systemd runs %s (main PID %d), but the role cannot find its master: %s. A reload would "
                     "not reach it." % (params["unit"], result["main_pid"], status.get("reason")))
    if params["dest"] and not params["root"]:
        if params["server"] and not status.get("running"):
            found.append("the %s set up by hand is not running, and the role does not start a server it does "
                         "not manage: %s." % (params["server"], status.get("reason")))
        elif params["server"] and params["method"]:
            # Its code is synced in place: a reload found impossible after the sync would leave
            # new code on disk and old code served.
            try:
                prepare_reload(dict(params, timeout=params["reload_timeout"]))
            except ReloadError as exc:
                found.append("the %s set up by hand cannot be reloaded by %s: %s." % (params["server"], params["method"], exc.msg))
        if not result.get("dest_is_dir"):
            found.append("wsgi_deploy_dest %s is not a directory: a server set up by hand already imports its "
                         "app from there." % params["dest"])
    deployer = result["user"]
    if params["root"]:
        found.extend(_app_file_refusals(params))
    if params["unit"] and not _systemd_runs():
        found.append("this host does not run systemd (it has no /run/systemd/system), which wsgi_deploy_service_manager "
                     "systemd needs: set wsgi_deploy_service_manager: none to run the server as a daemon.")
    # Packages the role does not install must be there before it makes anything.
    if params["needs_rsync"] and not shutil.which("rsync", path=os.environ.get("PATH", "") + ":/usr/bin:/bin"):
        found.append("rsync is not installed on this host, and the code is synced with it: install it, or set "
                     "wsgi_deploy_install_packages: true.")
    found.extend(_release_name_refusals(params, result))
    if params["python"] and not result.get("venv_ready"):
        why = _cannot_make_venv(params["python"])
        if why:
            found.append("%s cannot make the app's virtualenv here (%s): install python3-venv, or set "
                         "wsgi_deploy_install_packages: true." % (params["python"], why))
    if params["unit"] and deployer != "root":
        found.append("wsgi_deploy_service_manager systemd installs a unit and needs root: use become: true, or "
                     "wsgi_deploy_service_manager none to run the server as %s." % deployer)
    if params["root"] and params["app_user"] and deployer not in ("root", params["app_user"]):
        found.append("without root the server can only run as the connecting user %s: set wsgi_deploy_user to "
                     "it, or use become: true." % deployer)
    if params["root"] and params["app_user"] and deployer == "root" and params["app_user"] != deployer:
        found.extend(_app_user_refusals(params["app_user"], params["root"]))
    return found


def _release_name_refusals(params, result):
    """A release name chosen elsewhere must sort after every release here: rollbacks and pruning
    take the newest by name, and a name already there, even cut off, is another deploy's."""
    name = params["release_name"]
    if not name or not params["root"] or result.get("unchanged"):
        return []
    here = [entry[:-len(releases.PARTIAL)] if entry.endswith(releases.PARTIAL) else entry
            for entry in releases.release_names(params["root"])]
    later = sorted(entry for entry in here if entry >= name)
    if not later:
        return []
    return ["The release id %s does not sort after release %s, which %s already holds: releases sort by name. "
            "The controller's clock may be behind this host's, or the id was used before: choose a later "
            "wsgi_deploy_release_id, or leave it empty for the host's own clock." % (name, later[-1], params["root"])]


LOGINLESS_SHELLS = ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false")


def _app_file_refusals(params):
    """The server's log and master FIFO lie in directories of the app's user: one swapped for a link
    or a file of another kind is refused before anything changes, not met halfway through the reload."""
    found = []
    if params["log_file"]:
        try:
            app_files.regular_stat(params["log_file"])
        except app_files.UnsafeFile as exc:
            found.append("The server's log %s: root reads no such file, and the reload would not see its end. The app's "
                         "user (log/ is its own) may have put it there: make it a regular file again." % exc)
        except OSError:
            pass  # unreadable for another reason: the reload says why, if it needs the log
    fifo = params["fifo_file"]
    if fifo and os.path.lexists(fifo) and not stat.S_ISFIFO(os.lstat(fifo).st_mode):
        found.append("The master FIFO %s is not a FIFO: root writes nothing to it. The app's user (run/ is its own) "
                     "may have put it there: remove it and restart the server, which makes it again." % fifo)
    return found


def _app_user_refusals(name, root):
    """An existing user that the role would damage by making it the app's system user."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return []  # the role makes it
    found = []
    if entry.pw_uid == 0:
        found.append("wsgi_deploy_user %s has uid 0: the app must run as a user that is not root." % name)
    elif entry.pw_shell not in LOGINLESS_SHELLS:
        found.append("wsgi_deploy_user %s is an existing login user (shell %s, home %s): the role would take its "
                     "login away and make %s its home. Choose a user of the app's own." % (name, entry.pw_shell, entry.pw_dir, root))
    try:
        group = grp.getgrgid(entry.pw_gid).gr_name
    except KeyError:
        group = str(entry.pw_gid)
    if group != name:
        found.append("wsgi_deploy_user %s has the group %s: the role gives the app's files to the group named after "
                     "its user, which %s is not in. Choose a user of the app's own." % (name, group, name))
    return found


def inspected(module, params):
    _check_names(module, params)
    result = _view(params)
    # The name a release made now gets: sorted by time, on the server's clock.
    now = time.time()
    result["stamp"] = params["release_name"] or (time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + "%06dZ" % int(now % 1 * 1e6))
    _note_status(result, params)
    if params["dest"]:
        result["dest_is_dir"] = os.path.isdir(params["dest"])
    if params["unit"]:
        result["main_pid"] = _main_pid(module, params["unit"]) if _systemd_runs() else 0
    result["taken"] = False
    refusals = _refusals(params, result)
    if refusals:
        module.fail_json(msg="%s Nothing was changed." % " ".join(refusals), **result)
    # A deploy with something to do takes the lock now, unless a server it must not touch was found.
    lock_dir = os.path.dirname(params["lock"] or "/") or "/"
    if params["lock"] and not result["unchanged"] and os.path.isdir(lock_dir) \
            and not result.get("status", {}).get("foreign"):
        result.update(_lock(module, params))
        # Read again under the lock: the deploy that held it may have started or stopped the server.
        _note_status(result, params)
        if result["unchanged"] and not module.check_mode:
            # The deploy that held the lock made these inputs live: nothing is left to do.
            releases.drop_lock(params["lock"])
            result["taken"] = False
    if params["log_file"]:
        result["log_tail"] = server_log.tail(params["log_file"])
    return dict(result, changed=False)


def _app_user(module, params, **failed):
    try:
        return pwd.getpwnam(params["check_user"]) if params["check_user"] else pwd.getpwuid(os.geteuid())
    except KeyError:
        module.fail_json(msg="no user %s to check the release as" % params["check_user"], **failed)


def _release_env(module, params, **failed):
    """What the checked release's processes see: its own environment, its virtualenv first on PATH."""
    root, release = params["root"], params["release"] or releases.live(params["root"])["release"]
    venv = os.path.join(root, "venvs", params["venv"] or releases.live(root)["venv"])
    try:
        env = releases.release_env(root, release) if release else {}
    except releases.ReleaseError as exc:
        module.fail_json(msg="the new release's environment cannot be read: %s" % exc.msg, **failed)
    return dict(env, VIRTUAL_ENV=venv, PATH=os.path.join(venv, "bin") + ":" + env.get("PATH", "/usr/local/bin:/usr/bin:/bin"))


def _masked(lines, params):
    """Output lines with the values of the release's environment (wsgi_deploy_env) put out of sight:
    a command that prints its settings does not put a secret into Ansible's output."""
    root, release = params["root"], params["release"] or releases.live(params["root"])["release"]
    try:
        values = sorted((value for value in releases.release_env(root, release).values() if len(value) >= 4),
                        key=len, reverse=True) if release else []
    except releases.ReleaseError:
        values = []
    for value in values:
        lines = [line.replace(value, "********") for line in lines]
    return lines


def _run_as_app(module, params, argv, cwd, seconds, what, **failed):
    """Run argv as the app's user with the release's environment; fail quoting the end of its
    output, whose last line (an exception's, a command's error) says why."""
    user = _app_user(module, params, **failed)
    env = _release_env(module, params, **failed)
    try:
        code, tail = procs.run_as(argv, user, cwd, seconds, env=env)
    except OSError as exc:
        module.fail_json(msg="%s: %s did not run: %s" % (what, " ".join(argv), exc), **failed)
    tail = _masked(tail, params)
    if code != 0:
        how = "took longer than %ds" % seconds if code is None else "exit %d" % code
        ending = (": " + tail[-1]) if tail else ""
        module.fail_json(msg="%s as user %s (%s): %s%s" % (what, user.pw_name, how, " ".join(argv), ending),
                         rc=code, stderr="\n".join(tail), stderr_lines=tail, **failed)
    return tail


def ran(module, params):
    """Run commands in a release as the app's user, as its release commands ran: for a hook."""
    _check_names(module, params)
    if not params["commands"]:
        module.fail_json(msg="state=ran needs commands: a list of argv lists, such as [[python, manage.py, check]]")
    if _app_user(module, params).pw_uid == 0 and os.geteuid() == 0:
        # The release links to what the app's user writes (its shared paths): root runs none of it.
        module.fail_json(msg="state=ran runs the app's commands as the app's user, never as root: set check_user")
    release = params["release"] or releases.live(params["root"])["release"]
    if not release:
        module.fail_json(msg="no release to run the commands in: nothing is live under %s, and release is empty"
                             % params["root"])
    params = dict(params, release=release)
    if module.check_mode:
        return {"changed": True, "release": release, "output": []}
    cwd = os.path.join(params["root"], "releases", release)
    output = [_run_as_app(module, params, argv, cwd, params["commands_timeout"], "a command failed")
              for argv in params["commands"]]
    return {"changed": True, "release": release, "output": output}


def switched_to(module, params, before_switch=False):
    """Complete the synced release if asked, check it, run its release commands, point venv and
    current at it. A failure before anything was switched says so (before_switch) when the
    caller goes live next."""
    failed = {"before_switch": True, "switched": []} if before_switch else {}
    _check_names(module, params, **failed)
    built = False
    if params["release_key"]:
        if not (params["release"] and params["venv"]):
            module.fail_json(msg="a release to complete (release_key given) needs its name in release "
                                 "and its virtualenv in venv", **failed)
        # In check mode a first deploy's app user is not made yet, and nothing is handed to it.
        user = None if module.check_mode else _app_user(module, params, **failed)
        built = releases.build(params["root"], params["release"], params["release_key"], params["venv"], params["shared"],
                               module.check_mode, params["writable_dirs"], user and (user.pw_uid, user.pw_gid))
    if params["check"] and not module.check_mode:
        _run_as_app(module, params, params["check"], params["check_cwd"] or "/", CHECK_SECONDS,
                    "the new release's app failed its check", **failed)
    if params["commands"] and params["release"] and not module.check_mode:
        cwd = os.path.join(params["root"], "releases", params["release"])
        for argv in params["commands"]:
            _run_as_app(module, params, argv, cwd, params["commands_timeout"], "a release command failed", **failed)
    if params["writable_dirs"] and params["release"] and not module.check_mode:
        try:
            releases.seal(params["root"], params["release"], params["writable_dirs"], _app_user(module, params, **failed).pw_gid)
        except releases.ReleaseError as exc:
            module.fail_json(msg=exc.msg, **failed)
    if params["hold"]:
        return built, []
    return built, releases.switch(params["root"], params["release"], params["venv"], module.check_mode)


def went_live(module, params, switched):
    """Reload onto the switched release, check that the app answers, then record, prune, unlock.
    What the switch before it did (switched) is in every result, failed or not."""
    check = module.check_mode
    facts = dict(switched, changed=False, reloaded=False)
    if params["reload"]:
        reload_params = dict(params, timeout=params["reload_timeout"])
        try:
            facts = dict(switched, **reload_server(reload_params, check_mode=check))
        except ReloadError as exc:
            module.fail_json(msg=exc.msg, reloaded=False, **dict(switched, **exc.facts))
    if params["health_url"] and not check:
        answer = facts["health"] = health.ask(params)
        if answer["problem"]:
            msg, failed = health.failure(facts, answer)
            module.fail_json(msg, **failed)
    if params["dest"] and params["digest"] and not params["root"] and not check:
        try:
            facts["recorded"] = releases.record_dest(params["dest"], params["digest"], params["exclude"])
        except (releases.ReleaseError, OSError) as exc:
            facts["recorded"] = False
            module.warn("the new code is live and answers, but %s" % (getattr(exc, "msg", None) or exc))
    # In check mode a new release exists only on the controller: there is nothing to record yet.
    if params["root"] and params["digest"] and not check:
        facts["recorded"] = False
        try:
            facts["recorded"] = releases.record(params["root"], params["digest"], params["venv"], params["files"],
                                                params["prepared"], params["release"], check)
            releases.mark_went_live(params["root"], params["release"] or releases.live(params["root"])["release"])
            if params["keep"] is not None:
                plan = releases.prune(params["root"], params["keep"], check)
                facts["removed"] = plan["releases"] + plan["venvs"]
        except (releases.ReleaseError, OSError) as exc:
            module.warn("the new code is live and answers, but %s" % (getattr(exc, "msg", None) or exc))
    facts["unlocked"] = bool(params["lock"]) and releases.drop_lock(params["lock"], check)
    facts["changed"] = bool(facts["changed"] or facts.get("recorded") or facts.get("removed"))
    return facts


def _holder_text(holder):
    if not holder:
        return "no holder named in it"
    return "ansible-playbook PID %s on %s, since %s" % (
        holder.get("pid", "?"), holder.get("controller", "?"), holder.get("since", "an unknown time"))


def _seconds(value):
    return ("%g" % value) if value is not None else "0"


def _check_names(module, params, **failed):
    """A release or virtualenv name is one directory entry, never a path out of its parent."""
    for key, parent in (("release", "releases"), ("venv", "venvs"), ("release_name", "releases")):
        name = params[key]
        if name and (name in (".", "..") or "/" in name or "\0" in name or name.endswith(releases.PARTIAL)):
            module.fail_json(msg="%s must be the name of a directory in %s/, not %r" % (key, parent, name), **failed)
    for relpath in params["shared"]:
        parts = relpath.strip("/").split("/")
        if relpath.startswith("/") or not relpath.strip("/") or ".." in parts:
            module.fail_json(msg="each of shared must be a path inside the release, relative to it, not %r" % relpath,
                             **failed)


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "required": True,
                      "choices": ["inspected", "locked", "unlocked", "switched", "live", "recorded", "pruned", "ran"]},
            "root": {"type": "path"},
            "lock": {"type": "path"},
            "owner": {"type": "dict", "default": {}},
            "controller_pids": {"type": "list", "elements": "int", "default": []},
            "timeout": {"type": "float", "default": 0},
            "digest": {"type": "str", "default": ""},
            "venv": {"type": "str", "default": ""},
            "files": {"type": "dict", "default": {}},
            "prepared": {"type": "str", "default": ""},
            "release_key": {"type": "str", "no_log": False},
            "keep": {"type": "int"},
            "release": {"type": "str", "default": ""},
            "switch": {"type": "bool", "default": False},
            "shared": {"type": "list", "elements": "str", "default": []},
            "server": {"type": "str", "choices": ["gunicorn", "uwsgi"]},
            "pidfile": {"type": "path"},
            "reload_file": {"type": "path"},
            **MASTER_ARGUMENT_SPEC,
            "unit": {"type": "str"},
            "python": {"type": "path"},
            "needs_rsync": {"type": "bool", "default": False},
            "release_name": {"type": "str", "default": ""},
            "dest": {"type": "path"},
            "exclude": {"type": "list", "elements": "str", "default": []},
            "check": {"type": "list", "elements": "str", "default": []},
            "check_user": {"type": "str"},
            "app_user": {"type": "str"},
            "check_cwd": {"type": "path"},
            "commands": {"type": "list", "elements": "list", "default": []},
            "commands_timeout": {"type": "float", "default": 900},
            "writable_dirs": {"type": "list", "elements": "str", "default": []},
            "hold": {"type": "bool", "default": False},
            "log_file": {"type": "path"},
            "reload": {"type": "bool", "default": False},
            "method": {"type": "str", "choices": ["hup", "usr2", "chain", "full", "fifo", "workers"]},
            "fifo_file": {"type": "path"},
            "expected_workers": {"type": "int"},
            "reload_timeout": {"type": "float", "default": 120},
            **health.ARGUMENT_SPEC,
        },
        required_if=[
            ("state", "locked", ["lock"]),
            ("state", "unlocked", ["lock"]),
            ("state", "recorded", ["root", "digest"]),
            ("state", "pruned", ["root", "keep"]),
            ("state", "switched", ["root"]),
            ("state", "ran", ["root", "commands"]),
            ("switch", True, ["root"]),
            ("reload", True, ["server"]),
            ("method", "chain", ["reload_file"]),
            ("method", "fifo", ["fifo_file"]),
            ("method", "workers", ["fifo_file"]),
            ("server", "gunicorn", ["pidfile"]),
            ("server", "uwsgi", ["pidfile", "reload_file"], True),
        ],
        supports_check_mode=True,
    )
    params, check = module.params, module.check_mode
    state = params["state"]
    try:
        if state == "inspected":
            module.exit_json(**inspected(module, params))
        if state == "locked":
            module.exit_json(changed=False, **_lock(module, params))
        if state == "unlocked":
            module.exit_json(changed=False, removed=[params["lock"]] if releases.drop_lock(params["lock"], check) else [])
        if state == "switched":
            built, switched = switched_to(module, params)
            module.exit_json(changed=built or bool(switched), built=built, switched=switched)
        if state == "ran":
            module.exit_json(**ran(module, params))
        if state == "live":
            if params["keep"] is not None and params["keep"] < 1:
                module.fail_json(msg="keep must be at least 1, so that the live release stays; got %d" % params["keep"])
            facts = {}
            if params["switch"]:
                try:
                    facts["built"], facts["switched"] = switched_to(module, params, before_switch=True)
                except releases.ReleaseError as exc:
                    module.fail_json(msg=exc.msg, before_switch=True, switched=[])
            live = went_live(module, params, facts)
            live["changed"] = live["changed"] or facts.get("built", False) or bool(facts.get("switched"))
            module.exit_json(**live)
        changed = False
        if state == "recorded":
            changed = releases.record(params["root"], params["digest"], params["venv"], params["files"],
                                      params["prepared"], params["release"], check)
        removed = []
        if params["keep"] is not None:
            if params["keep"] < 1:
                module.fail_json(msg="keep must be at least 1, so that the live release stays; got %d" % params["keep"])
            plan = releases.prune(params["root"], params["keep"], check)
            removed = plan["releases"] + plan["venvs"]
        unlocked = bool(params["lock"]) and releases.drop_lock(params["lock"], check)
        module.exit_json(changed=changed or bool(removed), removed=removed, unlocked=unlocked)
    except releases.ReleaseError as exc:
        module.fail_json(msg=exc.msg)


if __name__ == "__main__":
    main()
