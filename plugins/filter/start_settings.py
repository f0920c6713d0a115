# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import plan


def start_settings_filter(import_seconds):
    """The start settings file of a launched server, from how long the app's import took (or None)."""
    if import_seconds is not None:
        try:
            import_seconds = float(import_seconds)
        except (TypeError, ValueError):
            raise AnsibleFilterError("start_settings: the import's duration must be a number of seconds, not %r"
                                     % (import_seconds,))
    return plan.start_settings(import_seconds)


class FilterModule(object):

    def filters(self):
        return {"start_settings": start_settings_filter}
