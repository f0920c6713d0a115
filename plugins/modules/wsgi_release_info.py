#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: wsgi_release_info
short_description: What is live on a host deployed by wsgi_deploy, and what a deploy there would refuse
description:
  - Reports what is live under O(root) (the release C(current) points at, the virtualenv C(venv)
    points at), who runs the module, whether the virtualenv O(venv_key) is complete, and whether
    the live deploy was recorded with the inputs O(inputs_digest) and still holds them (same
    release, same virtualenv, O(file_digests) with the given content).
  - With O(server), whether the server's master runs; with O(unit), the main PID systemd knows.
  - Lists in C(problems) what a deploy must not go on with, each with its fix. A pidfile that
    names a live process that is not the master; a systemd O(unit) whose master cannot be found, or
    without root; a server set up by hand (O(dest)) that is not running, whose O(dest) is not a
    directory, or, with O(method), that the reload by O(method) cannot work on; an O(app_user) the
    role would damage, or other than its own user without root; a missing C(rsync) or C(venv).
  - Changes nothing. M(graceful.wsgi_deploy.wsgi_lock) with O(graceful.wsgi_deploy.wsgi_lock#module:unless_unchanged=true)
    looks the same way before it takes the deploy lock, and refuses what this module lists.
version_added: "1.2.0"
author: wsgi-deploy developers (@wsgi-deploy)
extends_documentation_fragment:
  - graceful.wsgi_deploy.host_view
  - graceful.wsgi_deploy.master
  - graceful.wsgi_deploy.server_files
notes:
  - The logic lives in the collection's module_utils, C(host_view.py) and C(releases.py).
  - The record is read only as a regular file of the deploying user, never through a symlink.
attributes:
  check_mode:
    description: Changes nothing, in check mode or not.
    support: full
  diff_mode:
    description: It changes nothing.
    support: none
"""

EXAMPLES = r"""
- name: Preflight | Look at what is live
  graceful.wsgi_deploy.wsgi_release_info:
    root: /srv/shop
    inputs_digest: "{{ inputs_digest }}"
    venv_key: 3f2a9c0d1e4b
    file_digests:
      /srv/shop/etc/gunicorn.conf.py: "{{ config_text | hash('sha256') }}"
    server: gunicorn
    pidfile: /srv/shop/run/server.pid
  register: host

- name: Read the end of the server's log, as root, never through a link
  graceful.wsgi_deploy.wsgi_release_info:
    log_file: /srv/shop/log/server.log
  register: log
"""

RETURN = r"""
user:
  description: The user the module runs as, who owns what the deploy writes.
  returned: always
  type: str
live:
  description:
    - The release C(current) and the virtualenv C(venv) point at, empty strings for none, and the
      key the live release was built with (empty for one built before keys).
  returned: always
  type: dict
  sample: {release: 20261128T082745123456Z, release_key: 9b1c0e7d2a4f, venv: 3f2a9c0d1e4b}
releases:
  description: The complete releases in C(releases/), oldest first.
  returned: always
  type: list
  elements: str
went_live:
  description: The releases that answered their health check as the live one, oldest first.
  returned: always
  type: list
  elements: str
venv_ready:
  description: Whether the virtualenv O(venv_key) exists and was completed by a deploy.
  returned: always
  type: bool
record:
  description: The recorded live deploy, empty if there is none.
  returned: always
  type: dict
vouched:
  description:
    - Whether what is live (release, virtualenv, config files) is what the recorded deploy made live
      and reloaded the server onto. When not, a deploy cut off before its reload may have left the
      server running something else.
    - With O(dest) instead of O(root), whether the deploy recorded beside O(dest) had the inputs
      O(inputs_digest). When not, a deploy cut off between its sync and its reload may have left the
      server running older code than O(dest) holds.
  returned: always
  type: bool
unchanged:
  description: Whether the live deploy is recorded with O(inputs_digest), still is what it was, and its server runs.
  returned: always
  type: bool
files_matching:
  description: Those of O(file_digests) that already hold the given content.
  returned: always
  type: list
  elements: str
reasons:
  description: Why the live deploy is not the deploy of O(inputs_digest), in words; empty when unchanged.
  returned: always
  type: list
  elements: str
status:
  description:
    - Whether the master of O(server) runs, as M(graceful.wsgi_deploy.wsgi_reload) reports it
      (C(running), C(master_pid), C(workers), C(foreign), C(reason)).
  returned: O(server) given
  type: dict
dest_is_dir:
  description: Whether O(dest) is a directory.
  returned: O(dest) given
  type: bool
main_pid:
  description: The main PID systemd has for O(unit), 0 when it runs none.
  returned: O(unit) given
  type: int
log_tail:
  description: The last lines of O(log_file), empty if it is not a regular file.
  returned: O(log_file) given
  type: list
  elements: str
drain_left:
  description: Whether O(drain_mark) is there, left by a deploy that drained the host from the balancer.
  returned: O(drain_mark) given
  type: bool
stamp:
  description: A name for a release made now, O(new_release_name) or else the server's UTC time to the microsecond.
  returned: always
  type: str
  sample: 20261128T082745123456Z
problems:
  description: What a deploy must not go on with here, in words, each with its fix; empty when none.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import host_view


def main():
    module = AnsibleModule(argument_spec=host_view.ARGUMENT_SPEC, required_if=host_view.REQUIRED_IF,
                           supports_check_mode=True)
    problem = host_view.check_names(module.params)
    if problem:
        module.fail_json(msg=problem)
    module.exit_json(changed=False, **host_view.look(module.params, lambda unit: host_view.main_pid(module, unit)))


if __name__ == "__main__":
    main()
