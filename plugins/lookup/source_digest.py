# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
name: source_digest
short_description: A digest of an app's source tree on the controller, as rsync would ship it
description:
  - Walks the directory given as the term without following symlinks and hashes, in name order,
    every entry's relative path, type and permission bits, each file's content and each symlink's
    target. Times and owners are left out, as the role's sync leaves them out.
  - Entries that the rsync patterns O(exclude) certainly exclude are left out too. A pattern this
    plugin cannot read for certain (character classes, escapes, rule prefixes) excludes nothing
    here, so that the digest always covers at least what rsync ships. Two trees with the same
    digest ship the same files.
version_added: "1.1.0"
author: wsgi-deploy developers (@wsgi-deploy)
options:
  _terms:
    description: The source directory.
    required: true
    type: list
    elements: path
  exclude:
    description: rsync exclude patterns, as given to C(--exclude).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Preflight | Digest the app's source
  ansible.builtin.set_fact:
    source_digest: "{{ lookup('graceful.wsgi_deploy.source_digest', '/home/me/shop', exclude=['.git', '*.pyc']) }}"
"""

RETURN = r"""
_raw:
  description: The SHA-256 of the tree, in hex.
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.source_tree import tree_digest


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        excludes = self.get_option("exclude")
        found = []
        for term in terms:
            try:
                found.append(tree_digest(term, excludes))
            except OSError as exc:
                raise AnsibleLookupError("cannot read the source %s: %s" % (term, exc))
        return found
