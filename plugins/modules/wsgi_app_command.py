#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: wsgi_app_command
short_description: Run the app's own commands in a release, as the app's user, as release commands run
description:
  - Runs O(commands) in the release O(release) (the live one when empty) as O(app_user), never as
    root, with that release's environment (its C(.wsgi-deploy-env)) and the virtualenv O(venv_key)
    (the live one when empty) first on C(PATH), as the role's release commands run. A deploy's hook
    runs the app's own commands this way.
  - A failing command fails the module quoting the command and the end of its output. The output
    is returned with the environment's values masked. In check mode it runs nothing.
version_added: "1.2.0"
author: wsgi-deploy developers (@wsgi-deploy)
options:
  root:
    description: The app's root on the server, holding C(current), C(venv), C(releases/) and C(venvs/).
    type: path
    required: true
  release:
    description: The name of the release in C(releases/) to run the commands in; the live one when empty.
    type: str
    default: ""
  venv_key:
    description: The virtualenv in C(venvs/) whose C(bin) goes first on C(PATH); the live one when empty.
    type: str
    default: ""
  app_user:
    description: The user the commands run as, with that user's groups only, in a session of its own.
    type: str
    required: true
  commands:
    description: The commands to run, each an argv list, one after another; the first that fails stops them.
    type: list
    elements: list
    required: true
  timeout:
    description: How long each command may run, in seconds, before it is killed and counts as failed.
    type: float
    default: 900
notes:
  - The logic lives in the collection's module_utils, C(release_steps.py).
attributes:
  check_mode:
    description: Runs nothing, and reports that it would run the commands.
    support: full
  diff_mode:
    description: The commands' effects are the app's own.
    support: none
"""

EXAMPLES = r"""
- name: Release | Check the Django app's deploy settings in the new release
  graceful.wsgi_deploy.wsgi_app_command:
    root: "{{ wsgi_deploy_hook.app_dir | dirname }}"
    release: "{{ wsgi_deploy_hook.release | basename }}"
    app_user: "{{ wsgi_deploy_hook.user }}"
    commands:
      - [python, manage.py, check, --deploy]
"""

RETURN = r"""
release:
  description: The release the commands ran in.
  returned: success
  type: str
  sample: 20261128T082745123456Z
output:
  description:
    - The last lines (up to 12) of each command's output, in the order they ran, the values of the
      release's environment masked.
  returned: success
  type: list
  elements: list
  sample: [["Operations to perform:", "  Apply all migrations: notes", "No migrations to apply."]]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.release_steps import StepFailed, run_commands


def main():
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "required": True},
            "release": {"type": "str", "default": ""},
            "venv_key": {"type": "str", "default": "", "no_log": False},
            "app_user": {"type": "str", "required": True},
            "commands": {"type": "list", "elements": "list", "required": True},
            "timeout": {"type": "float", "default": 900},
        },
        supports_check_mode=True,
    )
    try:
        module.exit_json(**run_commands(module.params, module.check_mode))
    except StepFailed as exc:
        module.fail_json(msg=exc.msg, **exc.facts)


if __name__ == "__main__":
    main()
