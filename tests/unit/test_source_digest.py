"""The source digest: two trees with the same digest ship the same files, read against rsync itself."""
import os
import subprocess

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.source_tree import (
    Excludes, _entries, tree_digest)

# The role's own excludes, and patterns of the kinds users write.
ROLE_EXCLUDES = [".git", "__pycache__", "*.pyc", ".venv", "venv", ".virtualenv", "virtualenv", ".tox",
                 ".pytest_cache", "/.wsgi-deploy-venv", "/.wsgi-deploy-release", "/uploads", "/conf/.env"]
USER_PATTERNS = ["*.log", "node_modules/", "docs/build", "/local_settings.py", "tmp/**", "cache*", "a?c.txt",
                 "**/secret.key", "src/**/page.html",
                 "deep/**/x.key", "cached/**",
                 # A backslash makes a wildcard character literal, in a pattern with wildcards.
                 "esc\\*aped", "/\\[draft].env"]
# Patterns this reading cannot follow for certain; with any of them, it excludes nothing at all,
# since an include ("+ ") or a reset ("!") undoes the patterns around it.
UNREAD_PATTERNS = [["[ab]*.txt"], ["+ keep.txt", "*.txt"], ["- drop.txt"], ["*.pyc", "!"],
                   ["*.txt", "!", "*.py"]]


def make_tree(top):
    files = [
        "main.py", "app/__init__.py", "app/views.py", "app/__pycache__/views.cpython-311.pyc", "app/x.pyc",
        ".git/HEAD", ".git/objects/ab/cdef", "venv/bin/python", "lib/venv/keep.py", "docs/build/index.html",
        "docs/build.py", "src/docs/build/page.html", "node_modules/a/index.js", "pkg/node_modules",
        "local_settings.py", "app/local_settings.py", "tmp/a/b/c.txt", "cache.db", "cached/file.py",
        "abc.txt", "axc.txt", "abbc.txt", "deep/er/secret.key", "secret.key", "deep/x.key", "deep/er/x.key", "server.log", "logs/app.log",
        "a.txt", "b.txt", "keep.txt", "drop.txt", "esc*aped", "!", "uploads/photo.jpg", "app/uploads/keep.py",
        "conf/.env", "conf/settings.py", "[draft].env", "app/[draft].env", ".wsgi-deploy-venv", "app/.wsgi-deploy-venv", "name with space.py",
    ]
    for name in files:
        path = os.path.join(top, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write("content of %s\n" % name)
    os.symlink("main.py", os.path.join(top, "link.py"))
    os.symlink("app", os.path.join(top, "applink"))
    return top


def rsync_ships(top, patterns):
    """What rsync itself would copy of `top/`, with these --exclude patterns."""
    out = subprocess.run(["rsync", "-a", "--dry-run", "--out-format=%n"]
                         + ["--exclude=" + pattern for pattern in patterns]
                         + [top + "/", "/nonexistent-target/"], capture_output=True, text=True, check=True)
    return {line.rstrip("/") for line in out.stdout.splitlines() if line.strip() and line.strip() != "./"}


def digest_covers(top, patterns):
    return {relpath for relpath, _ in _entries(top, Excludes(patterns))}


@pytest.mark.parametrize("patterns", [ROLE_EXCLUDES, USER_PATTERNS, ROLE_EXCLUDES + USER_PATTERNS],
                         ids=["role", "user", "both"])
def test_the_digest_covers_exactly_what_rsync_ships_for_patterns_it_reads(tmp_path, patterns):
    top = make_tree(str(tmp_path / "src"))
    assert digest_covers(top, patterns) == rsync_ships(top, patterns)


@pytest.mark.parametrize("patterns", UNREAD_PATTERNS, ids=[" ".join(p) for p in UNREAD_PATTERNS])
def test_with_a_pattern_it_cannot_read_the_digest_covers_everything_and_so_what_rsync_ships(tmp_path, patterns):
    top = make_tree(str(tmp_path / "src"))
    shipped = rsync_ships(top, ROLE_EXCLUDES + patterns)
    covered = digest_covers(top, ROLE_EXCLUDES + patterns)
    assert covered >= shipped
    assert covered == digest_covers(top, [])


def test_each_shipped_change_changes_the_digest(tmp_path):
    top = make_tree(str(tmp_path / "src"))
    seen = {tree_digest(top, ROLE_EXCLUDES)}

    def changed():
        value = tree_digest(top, ROLE_EXCLUDES)
        assert value not in seen
        seen.add(value)

    with open(os.path.join(top, "app", "views.py"), "a") as handle:
        handle.write("# one more line\n")
    changed()
    os.chmod(os.path.join(top, "main.py"), 0o755)
    changed()
    os.unlink(os.path.join(top, "link.py"))
    os.symlink("app/views.py", os.path.join(top, "link.py"))
    changed()
    os.rename(os.path.join(top, "a.txt"), os.path.join(top, "a2.txt"))
    changed()
    os.mkdir(os.path.join(top, "empty"))
    changed()
    os.chmod(top, 0o700)
    changed()


def test_what_is_not_shipped_leaves_the_digest_alone(tmp_path):
    top = make_tree(str(tmp_path / "src"))
    before = tree_digest(top, ROLE_EXCLUDES)
    with open(os.path.join(top, "app", "__pycache__", "views.cpython-311.pyc"), "w") as handle:
        handle.write("recompiled")
    with open(os.path.join(top, ".git", "HEAD"), "w") as handle:
        handle.write("ref: refs/heads/other\n")
    os.utime(os.path.join(top, "main.py"), (1, 1))
    assert tree_digest(top, ROLE_EXCLUDES) == before


def test_a_source_that_is_not_a_directory_is_an_error(tmp_path):
    with pytest.raises(OSError):
        tree_digest(str(tmp_path / "missing"))
