# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a sync that deletes would remove from a directory no deploy went live in yet: a
wsgi_deploy_dest one level too high holds other apps' files, and rsync would delete them."""
from __future__ import annotations

SHOWN = 10


def deletions(lines):
    """The paths rsync's itemized output (as ansible.posix.synchronize returns it) says it deletes."""
    found = []
    for line in lines or ():
        if line.startswith("*deleting"):
            path = line[len("*deleting"):].strip()
            if path:
                found.append(path)
    return found


def refusal(lines, dest):
    """Why the first sync into dest may not delete, in words with the fix, or "" if it deletes nothing."""
    paths = deletions(lines)
    if not paths:
        return ""
    # Shallowest first: a directory one level too high shows the other apps' directories first.
    paths.sort(key=lambda path: (path.rstrip("/").count("/"), path))
    shown = ", ".join(paths[:SHOWN]) + (" and %d more" % (len(paths) - SHOWN) if len(paths) > SHOWN else "")
    return ("No deploy went live in wsgi_deploy_dest %s yet, and with wsgi_deploy_delete always the sync would delete "
            "%d path%s there that the app's source does not have: %s. Nothing was changed. If %s is the directory "
            "the server imports the app from, remove them, or deploy once with wsgi_deploy_delete auto, which keeps "
            "them; otherwise point wsgi_deploy_dest at that directory."
            % (dest, len(paths), "" if len(paths) == 1 else "s", shown, dest))
