#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: wsgi_plan
short_description: Check a deploy's variables on the controller, naming every problem at once
description:
  - Reads every C(wsgi_deploy_*) variable in scope, as the role P(graceful.wsgi_deploy.wsgi_deploy#role) takes them,
    and checks what the role's argument specs cannot say - ranges, paths, patterns, and how one variable fits
    another (a shared path that overlaps another, a hook that is no file, a requirements file outside the source).
  - A variable named C(wsgi_deploy_*) that the role does not know is refused with the nearest name it knows.
  - Runs on the controller only; nothing reaches the host. The role runs it first, as its Validate phase.
version_added: "1.2.0"
author: wsgi-deploy developers (@wsgi-deploy)
options: {}
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
  - The checks are in C(plugins/module_utils/inputs.py), as pure functions that the unit tests call directly.
"""

EXAMPLES = r"""
- name: Validate | Check every input before anything changes
  graceful.wsgi_deploy.wsgi_plan:
"""

RETURN = r"""
problems:
  description: Each problem, one sentence each, with what to set; empty when the deploy may go on.
  returned: always
  type: list
  elements: str
  sample: ["wsgi_deploy_workers must be a whole number from 1 to 512, not 0."]
"""
