# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks a deploy's variables on the controller (module_utils/inputs.py) and fails with every
problem at once, before any task reaches the host; else returns the deploy's plan
(module_utils/plan.py), which the role registers as _wsgi_deploy_plan."""
from __future__ import annotations

import os

import yaml

from ansible.module_utils.parsing.convert_bool import boolean

from ansible.plugins.action import ActionBase

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.left_behind import GitError

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import inputs, plan

SPECS = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "roles", "wsgi_deploy", "meta",
                     "argument_specs.yml")


def role_options():
    """Every entry point's options, with the main entry point's defaults."""
    with open(SPECS) as handle:
        specs = yaml.safe_load(handle)["argument_specs"]
    names = set()
    for entry in specs.values():
        names.update(entry.get("options", {}))
    return names, specs["main"]["options"]


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        known, main = role_options()
        variables = {}
        for name, spec in main.items():
            given = task_vars[name] if name in task_vars else spec.get("default")
            variables[name] = self._templar.template(given)
        context = inputs.Context(
            inventory_hostname=task_vars.get("inventory_hostname", ""),
            inventory_hosts=task_vars.get("groups", {}).get("all", []),
            playbook_dir=task_vars.get("playbook_dir", ""),
            known=known,
            given=[name for name in task_vars if name.startswith("wsgi_deploy_")],
        )
        args = self._task.args
        unknown = set(args) - {"check_inputs", "read_source", "plan", "preflight", "under_lock"}
        if unknown:
            return dict(result, failed=True, msg="wsgi_plan takes check_inputs, read_source, plan, preflight and "
                        "under_lock, not %s" % ", ".join(sorted(unknown)))
        if args.get("preflight"):
            # The plan completed by what Preflight saw, and what it saw under the lock once taken.
            found, host = args.get("plan") or {}, args["preflight"]
            lock = args.get("under_lock") or {}
            now = lock if lock.get("taken") else host
            result.update(found, changed=False)
            result.update(plan.after_preflight(variables, found, host, now, check_mode=bool(self._task.check_mode)))
            return result
        found = inputs.problems(variables, context) if boolean(args.get("check_inputs", True)) else []
        result.update(changed=False, problems=found)
        if found:
            result.update(failed=True, msg=" ".join(found))
            return result
        try:
            result.update(plan.plan(variables, hostname=context.inventory_hostname,
                                    play_hosts=task_vars.get("ansible_play_hosts_all", []),
                                    check_mode=bool(self._task.check_mode),
                                    read_source=boolean(args.get("read_source", True))))
        except GitError as exc:
            result.update(failed=True, msg=str(exc))
        except OSError as exc:
            result.update(failed=True, msg="cannot read the source %s: %s" % (variables["wsgi_deploy_src"], exc))
        return result
