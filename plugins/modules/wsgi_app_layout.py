#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: wsgi_app_layout
short_description: The directories and shared files of an app deployed by wsgi_deploy, made in one call
description:
  - O(state=present) makes the app's root O(root), with its missing parents as C(mkdir -p) makes
    them, then each of O(directories) in order, with its owner, group and mode, putting right the
    owner, group and mode of one that exists; then each of O(files), made empty where nothing is,
    left as it is where something is.
  - Under O(root), every name is reached from the directory above it, opened without following a
    link, and each directory is checked on its own descriptor before its owner or mode is set. A
    link where a directory must be, or in the path above one, is refused, never followed, and the
    module fails naming it. The app's user owns some of these directories, and what it puts in
    them is never something root follows. O(root)'s own path is the operator's, and followed.
  - The role's Prepare phase makes a managed server's layout with it, from the plan.
version_added: "1.2.0"
author: wsgi-deploy developers (@wsgi-deploy)
options:
  state:
    description: The layout exists, with these owners and modes.
    type: str
    default: present
    choices: [present]
  root:
    description: The app's root on the server.
    type: path
    required: true
  directories:
    description: The directories under O(root), parents before what they hold; an empty O(directories[].path) is O(root) itself.
    type: list
    elements: dict
    default: []
    suboptions: &entry
      path:
        description: The path relative to O(root).
        type: str
        required: true
      owner:
        description: The user that owns it.
        type: str
        required: true
      group:
        description: The group that owns it; empty leaves the group as it is made.
        type: str
        default: ""
      mode:
        description: Its permission bits, in octal.
        type: str
        required: true
  files:
    description: Files under O(root) made empty, with this owner, group and mode, where nothing is; what is there is left alone.
    type: list
    elements: dict
    default: []
    suboptions: *entry
notes:
  - The logic lives in the collection's module_utils, C(layout.py).
attributes:
  check_mode:
    description: Makes and changes nothing, and returns what it would make and put right.
    support: full
  diff_mode:
    description: The paths made and put right.
    support: full
"""

EXAMPLES = r"""
- name: Prepare | Make the app's directories and shared paths
  graceful.wsgi_deploy.wsgi_app_layout:
    root: /srv/shop
    directories:
      - {path: "", owner: root, mode: "0755"}
      - {path: releases, owner: root, group: shop, mode: "0750"}
      - {path: log, owner: shop, group: shop, mode: "0750"}
      - {path: shared, owner: root, mode: "0755"}
      - {path: shared/media, owner: shop, group: shop, mode: "0750"}
    files:
      - {path: shared/.env, owner: shop, group: shop, mode: "0640"}
"""

RETURN = r"""
made:
  description: The paths it made (would make, in check mode), parents of O(root) first.
  returned: success
  type: list
  elements: str
  sample: [/srv/shop, /srv/shop/releases]
fixed:
  description: The directories whose owner, group or mode it put right.
  returned: success
  type: list
  elements: str
  sample: [/srv/shop/log]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.layout import LayoutError, ensure

_ENTRY = {
    "path": {"type": "str", "required": True},
    "owner": {"type": "str", "required": True},
    "group": {"type": "str", "default": ""},
    "mode": {"type": "str", "required": True},
}


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "default": "present", "choices": ["present"]},
            "root": {"type": "path", "required": True},
            "directories": {"type": "list", "elements": "dict", "default": [], "options": _ENTRY},
            "files": {"type": "list", "elements": "dict", "default": [], "options": _ENTRY},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        entries = ([dict(entry, kind="directory", mode=int(entry["mode"], 8)) for entry in params["directories"]]
                   + [dict(entry, kind="file", mode=int(entry["mode"], 8)) for entry in params["files"]])
    except ValueError as exc:
        module.fail_json(msg="a mode is not an octal number: %s" % exc)
    try:
        done = ensure(params["root"], entries, module.check_mode)
    except LayoutError as exc:
        module.fail_json(msg=exc.msg)
    changed = bool(done["made"] or done["fixed"])
    diff = {"before": "".join("%s (owner or mode)\n" % path for path in done["fixed"]),
            "after": "".join("%s\n" % path for path in done["made"] + done["fixed"])}
    module.exit_json(changed=changed, diff=diff if changed else {}, **done)


if __name__ == "__main__":
    main()
