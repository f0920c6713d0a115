"""What the sync leaves behind: what git ignores, as git decides, and environment files unless named."""
import os
import subprocess

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.left_behind import GitError, left_behind
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.source_tree import tree_digest

FILES = ["main.py", ".env", ".env.production", "config/app.env", "config/defaults.env", "db.sqlite3",
         "local/notes.txt", "static/site.css", "docs/build/index.html", "keep.log", "venv/bin/.env"]
GITIGNORE = "db.sqlite3\nlocal/\n*.log\n!keep.log\ndocs/build/\n.env\n"


def make_source(top, git=True):
    for relpath in FILES:
        path = os.path.join(top, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(relpath + "\n")
    with open(os.path.join(top, ".gitignore"), "w") as handle:
        handle.write(GITIGNORE)
    if git:
        subprocess.run(["git", "init", "-q", str(top)], check=True)
    return str(top)


def test_git_decides_what_it_ignores_and_environment_files_stay_unless_named(tmp_path):
    src = make_source(tmp_path)

    found = left_behind(src, excludes=["venv"], ship=["config/defaults.env"])

    # keep.log: git's own negation brings it back; venv/: excluded already, not looked into.
    assert found == ["/.env", "/.env.production", "/config/app.env", "/db.sqlite3", "/docs/build/", "/local/"]


def test_without_git_only_environment_files_stay(tmp_path):
    src = make_source(tmp_path, git=False)

    assert left_behind(src, excludes=["venv"]) == ["/.env", "/.env.production", "/config/app.env",
                                                  "/config/defaults.env"]


def test_a_source_inside_a_repository_gets_the_repositorys_ignores_relative_to_itself(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("*.sqlite3\n")
    app = tmp_path / "services" / "shop"
    app.mkdir(parents=True)
    (app / "main.py").write_text("")
    (app / "shop.sqlite3").write_text("")

    assert left_behind(str(app), gitignored=True) == ["/shop.sqlite3"]
    assert left_behind(str(app), gitignored=False) == []


def test_what_is_left_behind_is_out_of_the_digest_too(tmp_path):
    src = make_source(tmp_path)
    excludes = ["venv"] + left_behind(src, excludes=["venv"])
    before = tree_digest(src, excludes)

    with open(os.path.join(src, "db.sqlite3"), "a") as handle:
        handle.write("a row written by the app run locally\n")
    with open(os.path.join(src, ".env"), "a") as handle:
        handle.write("TOKEN=changed\n")

    assert tree_digest(src, excludes) == before
    with open(os.path.join(src, "main.py"), "a") as handle:
        handle.write("# a change that ships\n")
    assert tree_digest(src, excludes) != before


def test_names_that_rsync_reads_as_wildcards_are_escaped(tmp_path):
    (tmp_path / "[draft].env").write_text("")

    assert left_behind(str(tmp_path), gitignored=False) == ["/\\[draft].env"]


def test_a_backslash_in_a_name_without_wildcards_stays_as_it_is(tmp_path):
    (tmp_path / "conf\\prod.env").write_text("")

    assert left_behind(str(tmp_path), gitignored=False) == ["/conf\\prod.env"]


def test_a_repository_git_cannot_read_fails_instead_of_shipping_on_a_guess(tmp_path):
    (tmp_path / ".git").write_text("gitdir: /nonexistent/elsewhere\n")
    (tmp_path / "db.sqlite3").write_text("")

    with pytest.raises(GitError, match="git cannot read the repository"):
        left_behind(str(tmp_path))
