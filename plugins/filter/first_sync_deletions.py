# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import sync_deletions


def first_sync_deletions_filter(preview, dest):
    """The refusal of a first sync that would delete from dest, from its dry run's result, or ""."""
    if not isinstance(preview, dict):
        raise AnsibleFilterError("first_sync_deletions: the input must be a synchronize result, not %r" % (preview,))
    return sync_deletions.refusal(preview.get("stdout_lines") or [], dest)


class FilterModule(object):

    def filters(self):
        return {"first_sync_deletions": first_sync_deletions_filter}
