#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: wsgi_plan
short_description: Check a deploy's variables on the controller, naming every problem at once, and plan the deploy
description:
  - Reads every C(wsgi_deploy_*) variable in scope, as the role P(graceful.wsgi_deploy.wsgi_deploy#role) takes them,
    and checks what the role's argument specs cannot say - ranges, paths, patterns, and how one variable fits
    another (a shared path that overlaps another, a hook that is no file, a requirements file outside the source).
  - A variable named C(wsgi_deploy_*) that the role does not know is refused with the nearest name it knows.
  - With nothing wrong, returns the deploy's plan - where the app's files are, what the sync sends and its digest,
    the keys of the release and of the virtualenv, the reload methods - which the role registers as
    C(_wsgi_deploy_plan) and its phases read.
  - Runs on the controller only; nothing reaches the host. The role runs it first, as its Validate phase.
version_added: "1.2.0"
author: wsgi-deploy developers (@wsgi-deploy)
options:
  check_inputs:
    description:
      - Whether to check the variables. The entry points C(rollback), C(stop) and C(restart) take the app's
        variables only, which their argument specs check.
    type: bool
    default: true
  read_source:
    description:
      - Whether to read C(wsgi_deploy_src) - what the sync leaves behind, the source's digest, the release's and the
        virtualenv's keys. Without it the plan holds where the app's files are, and the reload methods.
    type: bool
    default: true
  plan:
    description:
      - With O(preflight), the plan an earlier call returned, which this call completes.
    type: dict
  preflight:
    description:
      - What Preflight saw on the host, the result of M(graceful.wsgi_deploy.wsgi_lock) with
        O(graceful.wsgi_deploy.wsgi_lock#module:unless_unchanged=true). With it, the call returns O(plan)
        completed by the deploy's decisions - whether it makes a new release or virtualenv, prepares
        the host, writes which config files, starts, restarts, runs release commands, switches in
        Release or in Go live's call, needs a new master - and the import check and the hooks' facts.
        Nothing is checked and nothing is read from the source again.
    type: dict
  under_lock:
    description:
      - With O(preflight), what M(graceful.wsgi_deploy.wsgi_lock) saw once it took the lock later (a host
        that Prepare made), which the decisions then follow.
    type: dict
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Changes nothing.
  action:
    support: full
    description: Runs on the controller.
notes:
  - The checks are in C(plugins/module_utils/inputs.py), the plan in C(plugins/module_utils/plan.py), as pure
    functions that the unit tests call directly.
"""

EXAMPLES = r"""
- name: Validate | Check every input before anything changes, and plan the deploy
  graceful.wsgi_deploy.wsgi_plan:
  register: _wsgi_deploy_plan

- name: Stop | Work out where the app's files are
  graceful.wsgi_deploy.wsgi_plan:
    check_inputs: false
    read_source: false
  register: _wsgi_deploy_plan

- name: Preflight | Decide what the deploy changes
  graceful.wsgi_deploy.wsgi_plan:
    plan: "{{ _wsgi_deploy_plan }}"
    preflight: "{{ _wsgi_deploy_host }}"
  register: _wsgi_deploy_plan
"""

RETURN = r"""
problems:
  description: Each problem, one sentence each, with what to set; empty when the deploy may go on.
  returned: always
  type: list
  elements: str
  sample: ["wsgi_deploy_workers must be a whole number from 1 to 512, not 0."]
managed:
  description: Whether the role manages the server (releases under the root) or syncs into a directory set up by hand.
  returned: success
  type: bool
current:
  description: The symlink to the live release, through which a managed server imports the app.
  returned: success
  type: str
  sample: /srv/shop/current
config_file:
  description: The server's config file that the role writes.
  returned: success
  type: str
  sample: /srv/shop/etc/gunicorn.conf.py
start_settings_file:
  description: The file the role's launcher reads just before a managed Granian starts (its respawn interval, from
    the app's measured start); empty for the other servers.
  returned: success
  type: str
  sample: /srv/shop/etc/start-settings.env
lock:
  description: The deploy lock, beside the app (never inside what the sync sends).
  returned: success
  type: str
  sample: /srv/shop/.deploy.lock
reloads:
  description: The reload method chosen (C(chosen)) and the one that replaces the master (C(new_master)), each with
    the seconds it may take.
  returned: success
  type: dict
  sample: {"chosen": {"method": "hup", "timeout": 95}, "new_master": {"method": "usr2", "timeout": 95}}
sync_excludes:
  description: What the sync leaves out - the defaults, C(wsgi_deploy_exclude), the role's own files and shared paths,
    and what is left behind in the source.
  returned: with read_source
  type: list
  elements: str
source_digest:
  description: The SHA-256 of what the sync sends.
  returned: with read_source
  type: str
release_key:
  description: What the release holds - source, shared paths, release commands, environment - as a SHA-256. The live
    release is reused when its key is this one.
  returned: with read_source
  type: str
venv_key:
  description: What the virtualenv holds (Python, server package, requirements), as 12 hex digits; it names venvs/KEY.
  returned: with read_source
  type: str
  sample: 3f2a9c01b7de
new_release:
  description: Whether the deploy makes a new release (the live release's key is not O(plan)'s).
  returned: with O(preflight)
  type: bool
venv_changed:
  description: Whether the deploy switches to another virtualenv than the live one.
  returned: with O(preflight)
  type: bool
writes:
  description: The config files (server config, uWSGI's env loader, the systemd unit) whose content differs, which the deploy writes.
  returned: with O(preflight)
  type: list
  elements: str
starts:
  description: Whether the deploy starts the server (it does not run) or restarts it (its unit changed, or Granian's
    virtualenv, since Granian forks its new workers from its master).
  returned: with O(preflight)
  type: bool
switch_at_golive:
  description: Whether Go live's own call switches to the new release, the server running and nothing else due in between.
  returned: with O(preflight)
  type: bool
new_master:
  description: Whether the reload must replace the master (a new virtualenv, uWSGI's changed ini, or code no record vouches for).
  returned: with O(preflight)
  type: bool
import_check:
  description: The command (argv) that imports the new release's app as the server will, before anything points at it.
  returned: with O(preflight)
  type: list
  elements: str
hook:
  description: What a hook reads in C(wsgi_deploy_hook), but for its phase.
  returned: with O(preflight)
  type: dict
"""
