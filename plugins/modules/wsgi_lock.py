#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: wsgi_lock
short_description: The deploy lock of a host deployed by wsgi_deploy, held by one deploy at a time
description:
  - O(state=present) takes the deploy lock O(path), a directory made atomically, and names its
    holder O(holder) in it. It waits up to O(wait_seconds) for another deploy that holds it, and
    fails, changing nothing, if that deploy keeps it longer. A lock that a deploy from the same
    controller left, whose ansible-playbook (O(holder)'s C(pid)) is no longer among
    O(controller_pids), was left by an interrupted deploy, and is broken, with a warning.
  - With O(root) or O(dest), it then reports what is live as seen under the lock, as
    M(graceful.wsgi_deploy.wsgi_release_info) does; its result holds the same keys (C(live),
    C(unchanged), C(vouched), C(record) and the others that module documents).
  - With O(unless_unchanged=true), the call is a deploy's Preflight. It first looks at the host as
    M(graceful.wsgi_deploy.wsgi_release_info) does, and fails, changing nothing, on every problem
    that module lists (its result then holds all that module returns). Then it takes the lock only
    for a deploy with something to do (the live deploy is not the deploy of O(inputs_digest)) on a
    host whose lock directory's parent exists. If, under the lock, the deploy that held it turns out
    to have made these inputs live, it releases the lock again. In check mode it looks and refuses,
    and takes no lock. Looking and locking are one call, since a module call costs about 0.25 s on the
    bench's machine, 0.07 of the one-line change's ratio to Ansistrano (0.67 against a goal of 0.7).
  - O(state=absent) releases the lock.
  - Neither is reported as a change. A deploy holds the lock only while it runs, and a lock left
    behind is the trace of an interrupted one.
version_added: "1.2.0"
author: wsgi-deploy developers (@wsgi-deploy)
options:
  state:
    description: Whether this deploy holds the lock (V(present)) or nobody does (V(absent)).
    type: str
    default: present
    choices: [present, absent]
  path:
    description: The deploy lock, a directory that only one deploy at a time can make.
    type: path
    required: true
  holder:
    description:
      - Who takes the lock, written into it, with the keys C(controller) (its host name), C(pid) (the
        PID of its ansible-playbook) and C(since).
    type: dict
    default: {}
  controller_pids:
    description:
      - The PIDs of the ansible-playbook processes that run on the controller O(holder) names. A lock
        held from that controller by a PID not among them was left by an interrupted deploy, and is
        broken. A lock held from elsewhere is only waited for.
    type: list
    elements: int
    default: []
  wait_seconds:
    description: How long O(state=present) waits for another deploy's lock before it fails.
    type: float
    default: 0
  unless_unchanged:
    description:
      - Look at the host first, refuse its problems, and take no lock for a deploy with nothing to
        do; see the description.
    type: bool
    default: false
extends_documentation_fragment:
  - graceful.wsgi_deploy.host_view
  - graceful.wsgi_deploy.master
  - graceful.wsgi_deploy.server_files
notes:
  - The logic lives in the collection's module_utils, C(host_view.py) and C(releases.py).
  - The lock's holder is read only as a regular file of the deploying user, never through a symlink.
attributes:
  check_mode:
    description: Reports whether it would take or release the lock, and changes nothing.
    support: full
  diff_mode:
    description: The lock is the deploy's own state; there is nothing for a user to compare.
    support: none
"""

EXAMPLES = r"""
- name: Lock | Take the deploy lock, waiting up to a minute for another deploy
  graceful.wsgi_deploy.wsgi_lock:
    path: /srv/shop/.wsgi-deploy.lock
    holder: {controller: build1, pid: 4242}
    wait_seconds: 60
    root: /srv/shop

- name: Preflight | Look at the host, refuse what cannot be deployed safely, lock if there is work
  graceful.wsgi_deploy.wsgi_lock:
    path: /srv/shop/.wsgi-deploy.lock
    unless_unchanged: true
    root: /srv/shop
    inputs_digest: "{{ inputs_digest }}"
    venv_key: 3f2a9c0d1e4b
    server: gunicorn
    pidfile: /srv/shop/run/server.pid
  register: host

- name: Lock | Release the deploy lock
  graceful.wsgi_deploy.wsgi_lock:
    path: /srv/shop/.wsgi-deploy.lock
    state: absent
"""

RETURN = r"""
taken:
  description: Whether this call took the lock (in check mode, would take it).
  returned: O(state=present)
  type: bool
broke:
  description: The holder of a lock left by an interrupted deploy, which this call broke; empty if none.
  returned: O(state=present) when the lock was taken
  type: dict
holder:
  description: The holder written into a lock that another deploy still holds.
  returned: failure of O(state=present)
  type: dict
removed:
  description: The lock, when O(state=absent) removed it (or would, in check mode).
  returned: O(state=absent)
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import host_view, releases


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state={"type": "str", "default": "present", "choices": ["present", "absent"]},
            path={"type": "path", "required": True},
            holder={"type": "dict", "default": {}},
            controller_pids={"type": "list", "elements": "int", "default": []},
            wait_seconds={"type": "float", "default": 0},
            unless_unchanged={"type": "bool", "default": False},
            **host_view.ARGUMENT_SPEC),
        required_if=host_view.REQUIRED_IF, supports_check_mode=True)
    params, check = module.params, module.check_mode
    if params["state"] == "absent":
        removed = releases.drop_lock(params["path"], check)
        module.exit_json(changed=False, removed=[params["path"]] if removed else [])
    problem = host_view.check_names(params)
    if problem:
        module.fail_json(msg=problem)
    try:
        if params["unless_unchanged"]:
            result = host_view.look_then_lock(params, check, lambda unit: host_view.main_pid(module, unit), module.warn)
        else:
            result = host_view.take(params, check, module.warn)
    except (host_view.Refused, releases.ReleaseError) as exc:
        module.fail_json(msg=exc.msg, **getattr(exc, "facts", {}))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
