# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment(object):
    # How a module finds the server's master: module_utils/reload.py's SERVER_REQUIRED_IF.
    DOCUMENTATION = r"""
options:
  pidfile:
    description: The server's pidfile, for O(server).
    type: path
  reload_file:
    description: The uWSGI C(touch-chain-reload) path, which finds its master without a pidfile.
    type: path
"""
