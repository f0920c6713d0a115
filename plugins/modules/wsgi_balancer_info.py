#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: wsgi_balancer_info
short_description: What haproxy says of one server of a backend, read from its admin socket
description:
  - Asks haproxy's runtime API (C(show stat)) on O(socket) for the server O(server) of the backend
    O(backend), and returns its status.
  - Fails, naming the backends or servers haproxy does know, when it knows neither, or when the socket
    does not answer. The role runs it on the balancer before a deploy behind it changes anything.
  - Changes nothing.
version_added: "1.2.0"
author: wsgi-deploy developers (@wsgi-deploy)
options:
  socket:
    description: haproxy's admin socket (its C(stats socket ... level admin)).
    type: path
    required: true
  backend:
    description: The backend the app's hosts are servers of.
    type: str
    required: true
  server:
    description: This host's name as a server of O(backend).
    type: str
    required: true
notes:
  - The logic lives in the collection's module_utils, C(balancer.py).
attributes:
  check_mode:
    description: Changes nothing, in check mode or not.
    support: full
  diff_mode:
    description: It changes nothing.
    support: none
"""

EXAMPLES = r"""
- name: Balancer | Check that haproxy knows this host
  graceful.wsgi_deploy.wsgi_balancer_info:
    socket: /run/haproxy/admin.sock
    backend: shop
    server: web1
  delegate_to: lb1
"""

RETURN = r"""
status:
  description: The server's status as haproxy words it - C(UP), C(DOWN), C(DRAIN), C(MAINT), C(NOLB).
  returned: success
  type: str
  sample: UP
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.balancer import BalancerError, server_state


def main():
    module = AnsibleModule(argument_spec={"socket": {"type": "path", "required": True},
                                          "backend": {"type": "str", "required": True},
                                          "server": {"type": "str", "required": True}},
                           supports_check_mode=True)
    try:
        status = server_state(module.params["socket"], module.params["backend"], module.params["server"])
    except BalancerError as exc:
        module.fail_json(msg=exc.msg)
    module.exit_json(changed=False, status=status)


if __name__ == "__main__":
    main()
