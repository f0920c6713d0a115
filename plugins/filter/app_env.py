# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import app_env


def app_env_filter(env, salt=None):
    """What the role needs of wsgi_deploy_env: its problems, its file's text, and its digest if salted."""
    found = app_env.problems(env)
    if found:
        return {"problems": found, "content": "", "digest": ""}
    try:
        return {"problems": [], "content": app_env.render(env),
                "digest": app_env.digest(env, salt) if salt else ""}
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("wsgi_deploy_env: %s" % exc)


class FilterModule(object):

    def filters(self):
        return {"app_env": app_env_filter}
