# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
name: left_behind
short_description: The files of an app's source on the controller that its sync leaves behind
description:
  - Lists, as rsync exclude patterns anchored at the top of the source and each naming one path,
    the files that a deploy must not ship.
  - Environment files, which may hold secrets (C(.env), C(.env.*), C(*.env)), unless named in O(ship).
  - With O(gitignored), the untracked files and directories that git ignores there (C(.gitignore),
    C(.git/info/exclude), the user's global excludes), as git itself decides. A source outside a git
    work tree has none. When git cannot answer for a repository (not installed, an unsafe
    C(safe.directory) owner, a broken repository), the lookup fails rather than ship on a guess.
version_added: "1.2.0"
author: wsgi-deploy developers (@wsgi-deploy)
options:
  _terms:
    description: The source directory.
    required: true
    type: list
    elements: path
  exclude:
    description: rsync exclude patterns that leave paths out already; what they exclude is not looked into.
    type: list
    elements: str
    default: []
  gitignored:
    description: Whether to leave behind what git ignores.
    type: bool
    default: true
  ship:
    description: Paths, relative to the source, shipped all the same.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Preflight | Find what the sync leaves behind
  ansible.builtin.set_fact:
    left_behind: "{{ lookup('graceful.wsgi_deploy.left_behind', '/home/me/shop', exclude=['.git'], ship=['.env.example']) }}"
"""

RETURN = r"""
_raw:
  description: The anchored rsync patterns, sorted, such as C(/.env) and C(/db.sqlite3).
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.left_behind import GitError, left_behind


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        found = []
        for term in terms:
            try:
                found.append(left_behind(term, self.get_option("exclude"), self.get_option("gitignored"),
                                         self.get_option("ship")))
            except GitError as exc:
                raise AnsibleLookupError(str(exc))
            except OSError as exc:
                raise AnsibleLookupError("cannot read the source %s: %s" % (term, exc))
        return found
