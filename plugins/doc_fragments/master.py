# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment(object):
    # What proves a pidfile's master this app's, module_utils/reload.py's MASTER_ARGUMENT_SPEC.
    DOCUMENTATION = r"""
options:
  master_path:
    description:
      - A path that the master must name, such as the server's config file or the app's directory.
        It must be in the master's command line, in a config file named there (read only as the
        master's own user could read it), in its environment, or be its working directory or one
        above it. A master that the pidfile names but that names no such path is taken for another
        app's, and is never signalled.
    type: path
  master_user:
    description:
      - The user the master must run as. A master that the pidfile names but that runs as another
        user is taken for another app's, and is never signalled.
    type: str
  master_unit:
    description:
      - The systemd unit whose cgroup the master must be in, such as C(wsgi-shop.service). A master
        that the pidfile names but that systemd did not start for this unit is taken for another
        app's, and is never signalled.
    type: str
"""
