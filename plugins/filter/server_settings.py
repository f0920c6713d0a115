# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import server_settings


def server_settings_filter(settings, server):
    """wsgi_deploy_server_settings checked for SERVER, and the config lines it makes."""
    if server not in server_settings.MANAGED:
        raise AnsibleFilterError("server_settings: the server must be gunicorn or uwsgi, not %r" % (server,))
    found = server_settings.problems(settings, server)
    return {"problems": found, "content": "" if found else server_settings.render(settings, server)}


class FilterModule(object):

    def filters(self):
        return {"server_settings": server_settings_filter}
