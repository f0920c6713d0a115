# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks a deploy's variables on the controller (module_utils/inputs.py) and fails with every
problem at once, before any task reaches the host."""
from __future__ import annotations

import os

import yaml

from ansible.plugins.action import ActionBase

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import inputs

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
        found = inputs.problems(variables, context)
        result.update(changed=False, problems=found)
        if found:
            result.update(failed=True, msg=" ".join(found))
        return result
