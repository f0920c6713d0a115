#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: wsgi_release
short_description: A release of a WSGI app deployed by wsgi_deploy, complete, current or live
description:
  - O(state=present) makes the release O(release) complete and checked. With O(release_key) it
    first completes the copy the sync made in C(releases/RELEASE.partial). It writes O(release_key)
    and the virtualenv O(venv_key) into it, replaces each of O(shared_paths) in it by a symlink to
    C(shared/), and renames it to its final name, which only a complete release gets. Then it runs
    O(import_check) and the O(release_commands) as O(app_user), and fails if any fails.
  - O(state=current) does the same, then points C(venv) at C(venvs/VENV_KEY), then C(current) at
    C(releases/RELEASE), each by renaming a new symlink over the old one, so that the server never
    sees a missing link. A link that already points there is left alone. Without O(release_key) it
    only checks (if asked) and switches, as a rollback or a switch after a hook does.
  - O(state=live) makes the current release live, in one call. With O(switch) it first does what
    O(state=current) does; a failure there reloads nothing and returns C(before_switch=true). With
    O(reload), it reloads O(server) by O(method) and waits for the server's own end, as
    M(graceful.wsgi_deploy.wsgi_reload) does. With O(health_url), it then asks the app until it
    answers as expected, and fails saying what it answered otherwise. Once the app answered, with
    O(root) (or O(dest)) and O(inputs_digest) it records the deploy, so that the next deploy with
    the same inputs has nothing to do; with O(keep_releases) it removes all but the newest releases,
    interrupted syncs and the virtualenvs no kept release uses, never the live ones; with
    O(lock_path) it releases the deploy lock. A record or a prune that cannot be made is only a
    warning, since the new code is live and answers.
version_added: "1.1.0"
author: wsgi-deploy developers (@wsgi-deploy)
options:
  state:
    description: What the release is once the module returns; see the description.
    type: str
    required: true
    choices: [present, current, live]
  root:
    description: The app's root on the server, holding C(current), C(venv), C(releases/) and C(venvs/).
    type: path
  release:
    description:
      - The name of a release in C(releases/).
      - With O(state=live), the release the record names, and with O(switch) the one to switch to.
    type: str
    default: ""
  release_key:
    description:
      - What a release holds (a digest of the source and of the shared paths), written into the
        release that O(release) completes. A deploy whose key is the live release's needs no new release.
    type: str
  venv_key:
    description: The key of the release's virtualenv, the name of a directory in C(venvs/).
    type: str
    default: ""
  shared_paths:
    description: Paths inside the release, relative to it, that live in C(shared/) instead.
    type: list
    elements: str
    default: []
  import_check:
    description:
      - A command (argv) that must succeed before anything is switched, such as an import of the new
        release's app with its virtualenv. It runs as O(app_user), with the release's environment.
    type: list
    elements: str
    default: []
  import_check_cwd:
    description: The directory O(import_check) runs in.
    type: path
  app_user:
    description:
      - The user O(import_check) and O(release_commands) run as, with that user's groups only, in a
        session of its own; the module's own user when omitted. Running as another user needs root,
        and no C(sudo).
    type: str
  release_commands:
    description:
      - Commands (argv lists) that must all succeed, after O(import_check) and before anything is
        switched, such as a database migration.
      - Each runs in the new O(release), as O(app_user), with the release's environment (the
        C(.wsgi-deploy-env) file it holds) and its virtualenv first on C(PATH).
      - A failing command fails the module quoting the command and the end of its output.
    type: list
    elements: list
    default: []
  command_timeout:
    description: How long each of O(release_commands) may run, in seconds, before it is killed and counts as failed.
    type: float
    default: 900
  writable_dirs:
    description:
      - With O(release_key), directories inside the new release (made where the source has none)
        that O(app_user) owns, so that O(release_commands) can write into them, such as collected static files.
      - Only each directory itself changes hands, never a file that the sync hard-linked to another release.
      - Once the commands ran, they are the deploying user's again, with all they hold; anything in them but
        directories and regular files with a single link fails the module before the switch.
    type: list
    elements: str
    default: []
  config_files:
    description:
      - The server's config files and unit that the role manages. A release that O(release_key) completes keeps
        them as they are then, as it goes live with them (C(.wsgi-deploy-config.json) in the release).
      - With O(restore_config), the files that O(state=current) may put back.
    type: list
    elements: path
    default: []
  restore_config:
    description:
      - With O(state=current), put back each of O(config_files) that the release kept and that differs now, as a
        rollback by hand does. A release from before releases kept their config puts back nothing.
    type: bool
    default: false
  restore_record:
    description:
      - With O(state=live) and O(root) but no O(inputs_digest), as after a rollback - once the app answers, the
        record the live release kept when a deploy last recorded it as live becomes the live record again, so that
        the next deploy of what is live has nothing to do. A release that kept none leaves no record.
    type: bool
    default: false
  switch:
    description: With O(state=live), first do what O(state=current) does with the same options.
    type: bool
    default: false
  reload:
    description:
      - With O(state=live), whether to reload O(server) first. A server that has just started runs
        the new code already, and an unchanged one needs only the health check.
    type: bool
    default: false
  server:
    description: With O(state=live), the server to reload.
    type: str
    choices: [gunicorn, uwsgi, uvicorn, granian]
  method:
    description: The reload method, as O(graceful.wsgi_deploy.wsgi_reload#module:method) of the reload module.
    type: str
    choices: [hup, usr2, ttin, chain, full, fifo, workers]
  fifo_file:
    description: The C(master-fifo) of uWSGI, for O(method=fifo) and O(method=workers).
    type: path
  log_file:
    description: The server's log, read as M(graceful.wsgi_deploy.wsgi_reload) reads it.
    type: path
  expected_workers:
    description: How many workers gunicorn runs once reloaded; as many as before when omitted.
    type: int
  reload_timeout:
    description: Seconds to wait for the reload to end before failing.
    type: float
    default: 120
  dest:
    description:
      - A directory that a server set up by hand imports its app from. With O(inputs_digest), once
        the app answered, what it holds is recorded as the deploy of O(inputs_digest), in
        C(.DEST.deploy-live.json) beside it, owned by the deploying user.
    type: path
  exclude:
    description: With O(dest), the rsync exclude patterns of the sync, whose matches in O(dest) are not part of what it holds.
    type: list
    elements: str
    default: []
  inputs_digest:
    description: The digest of everything the deploy makes live, recorded once the app answered.
    type: str
    default: ""
  file_digests:
    description: Files on the server, each with the SHA-256 of its content, recorded with the deploy.
    type: dict
    default: {}
  prepared_digest:
    description: A digest of how the host was prepared (user, directories, packages), kept in the record.
    type: str
    default: ""
  keep_releases:
    description: How many of the newest releases stay once the app answered, the live one always among them.
    type: int
  lock_path:
    description: The deploy lock, released once the app answered.
    type: path
extends_documentation_fragment:
  - graceful.wsgi_deploy.health
  - graceful.wsgi_deploy.master
  - graceful.wsgi_deploy.server_files
notes:
  - The logic lives in the collection's module_utils, C(release_steps.py) and C(releases.py); the
    server's reload in C(reload.py), the health check in C(health.py).
  - The record is read only as a regular file of the deploying user, never through a symlink.
attributes:
  check_mode:
    description: Reports what it would change and changes nothing.
    support: full
  diff_mode:
    description: The record is the module's own state; there is nothing for a user to compare.
    support: none
"""

EXAMPLES = r"""
- name: Release | Complete the synced release, check its app as the app's user, point current at it
  graceful.wsgi_deploy.wsgi_release:
    state: current
    root: /srv/shop
    release: 20261128T120000000000Z
    release_key: "{{ source_digest }}"
    venv_key: 3f2a9c0d1e4b
    shared_paths: [media]
    import_check: [/srv/shop/venvs/3f2a9c0d1e4b/bin/python, -c, import shop.wsgi]
    app_user: shop
    import_check_cwd: /srv/shop

- name: Go live | Reload gracefully, check that the app answers, record, prune, unlock
  graceful.wsgi_deploy.wsgi_release:
    state: live
    root: /srv/shop
    release: 20261128T120000000000Z
    venv_key: 3f2a9c0d1e4b
    reload: true
    server: gunicorn
    method: hup
    pidfile: /srv/shop/run/server.pid
    health_url: http://127.0.0.1:8000/
    inputs_digest: "{{ inputs_digest }}"
    keep_releases: 5
    lock_path: /srv/shop/.wsgi-deploy.lock
"""

RETURN = r"""
built:
  description: Whether the release O(release) was completed from its C(.partial) copy.
  returned: O(state=present), O(state=current), and O(state=live) with O(switch)
  type: bool
import_seconds:
  description:
    - How long O(import_check) took, in seconds - about as long as a new worker takes to load the app. The role
      sets Granian's respawn interval from it.
  returned: when O(import_check) ran and passed
  type: float
  sample: 1.42
config_restored:
  description: The config files that O(restore_config) put back, which the server reads only when it starts again.
  returned: O(state=present) and O(state=current)
  type: list
  elements: str
  sample: [/srv/shop/etc/gunicorn.conf.py]
switched:
  description:
    - The links that now point elsewhere, C(venv) and C(current), in that order.
    - With O(state=live) and O(switch), also in a failed result, so that the caller knows what to switch back.
  returned: O(state=current), and O(state=live) with O(switch)
  type: list
  elements: str
failed_step:
  description: The step a failure happened in - C(release) (its completion, import check or commands), C(switch), C(reload) or C(health).
  returned: failure
  type: str
  sample: health
before_switch:
  description: True when O(state=live) with O(switch) failed before it switched anything, and so reloaded nothing.
  returned: failure of O(state=live) with O(switch), before the switch
  type: bool
reloaded:
  description:
    - Whether the server was reloaded and its reload ended well; with it, the facts that
      M(graceful.wsgi_deploy.wsgi_reload) returns (C(method), C(master_pid), C(old_pids),
      C(new_pids), C(duration_s), C(started_at), C(trigger), C(ended_by), C(log_file), C(log_lines)).
  returned: O(state=live)
  type: bool
log_lines:
  description:
    - After a reload, the server's log lines that marked its end; after a failed health check, the
      last lines of O(log_file), which hold what the app logged as it answered (a traceback).
  returned: O(state=live) with O(reload), or a failed health check with O(log_file)
  type: list
  elements: str
health:
  description: The health check's answer (C(url), C(status), C(content), C(attempts), C(duration_s), C(problem)).
  returned: O(state=live) with O(health_url), not in check mode
  type: dict
recorded:
  description:
    - Whether the record now holds this deploy (false when it already did, or could not be written).
    - With O(restore_record), whether the live release's own record became the live record again.
  returned: O(state=live) with O(root) or O(dest), and O(inputs_digest) or O(restore_record)
  type: bool
removed:
  description: The releases and virtualenvs removed.
  returned: O(state=live) with O(keep_releases)
  type: list
  elements: str
unlocked:
  description: Whether this call released the lock; a result without it is a failure.
  returned: success of O(state=live)
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import health
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.release_steps import StepFailed, release_state
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import MASTER_ARGUMENT_SPEC, SERVER_REQUIRED_IF


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "required": True, "choices": ["present", "current", "live"]},
            "root": {"type": "path"},
            "release": {"type": "str", "default": ""},
            "release_key": {"type": "str", "no_log": False},
            "venv_key": {"type": "str", "default": "", "no_log": False},
            "shared_paths": {"type": "list", "elements": "str", "default": []},
            "import_check": {"type": "list", "elements": "str", "default": []},
            "import_check_cwd": {"type": "path"},
            "app_user": {"type": "str"},
            "release_commands": {"type": "list", "elements": "list", "default": []},
            "command_timeout": {"type": "float", "default": 900},
            "writable_dirs": {"type": "list", "elements": "str", "default": []},
            "config_files": {"type": "list", "elements": "path", "default": []},
            "restore_config": {"type": "bool", "default": False},
            "restore_record": {"type": "bool", "default": False},
            "switch": {"type": "bool", "default": False},
            "reload": {"type": "bool", "default": False},
            "server": {"type": "str", "choices": ["gunicorn", "uwsgi", "uvicorn", "granian"]},
            "method": {"type": "str", "choices": ["hup", "usr2", "ttin", "chain", "full", "fifo", "workers"]},
            "pidfile": {"type": "path"},
            "reload_file": {"type": "path"},
            "fifo_file": {"type": "path"},
            "log_file": {"type": "path"},
            "expected_workers": {"type": "int"},
            "reload_timeout": {"type": "float", "default": 120},
            **MASTER_ARGUMENT_SPEC,
            "dest": {"type": "path"},
            "exclude": {"type": "list", "elements": "str", "default": []},
            "inputs_digest": {"type": "str", "default": ""},
            "file_digests": {"type": "dict", "default": {}},
            "prepared_digest": {"type": "str", "default": ""},
            "keep_releases": {"type": "int"},
            "lock_path": {"type": "path"},
            **health.ARGUMENT_SPEC,
        },
        required_if=[
            ("state", "present", ["root"]),
            ("state", "current", ["root"]),
            ("switch", True, ["root"]),
            ("reload", True, ["server"]),
            *SERVER_REQUIRED_IF,
        ],
        supports_check_mode=True,
    )
    try:
        module.exit_json(**release_state(module.params, module.check_mode, module.warn))
    except StepFailed as exc:
        module.fail_json(msg=exc.msg, **exc.facts)


if __name__ == "__main__":
    main()
