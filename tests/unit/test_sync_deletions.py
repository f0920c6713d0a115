"""What a first sync into a directory set up by hand would delete, from rsync's dry run."""
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import sync_deletions

# As ansible.posix.synchronize returns rsync's itemized lines (its <<CHANGED>> marks removed).
DRY_RUN = ["*deleting   other-app/data.db", "*deleting   other-app/", "*deleting   app/main.py", "*deleting   app/",
           ">f+++++++++ main.py", ".d..t...... ./", ""]


def test_only_the_deleted_paths_are_read():
    assert sync_deletions.deletions(DRY_RUN) == ["other-app/data.db", "other-app/", "app/main.py", "app/"]


def test_a_sync_that_deletes_nothing_is_not_refused():
    assert sync_deletions.refusal([">f+++++++++ main.py", ".d..t...... ./"], "/srv/shop") == ""
    assert sync_deletions.refusal([], "/srv/shop") == ""


def test_the_refusal_names_what_would_go_shallowest_first_and_what_to_do():
    says = sync_deletions.refusal(DRY_RUN, "/srv")
    assert "wsgi_deploy_dest /srv" in says and "would delete 4 paths" in says
    assert "app/, other-app/, app/main.py, other-app/data.db." in says
    assert "Nothing was changed" in says and "wsgi_deploy_delete auto" in says


def test_a_long_list_is_cut_with_a_count():
    says = sync_deletions.refusal(["*deleting   f%02d" % n for n in range(14)], "/srv")
    assert "f09 and 4 more" in says and "f10" not in says
