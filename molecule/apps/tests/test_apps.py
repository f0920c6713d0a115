"""Three real apps, each made by its own tools, deployed with the variables the README shows
(molecule/apps/vars): what a user of each saw at each step."""
import json

import pytest

APPS = ["django", "flaskr", "fastapi"]
ROOTS = {"django": "/srv/notes", "flaskr": "/srv/flaskr", "fastapi": "/srv/heroes"}
# What each version's page says, and what each app's failing migration says.
SAYS = {
    "django": {"v1": "Notes: 1 notes, v1", "v2": "Notes: 1 notes, v2", "renamed": "Renamed: 1 notes, v2",
               "error": "no such table: notes_archive"},
    "flaskr": {"v1": " - Flaskr v1</title>", "v2": " - Flaskr v2</title>", "renamed": ">Renamed</a></h1>",
               "error": "no such table: post_archive"},
    "fastapi": {"v1": '"heroes":0,"version":"1"', "v2": '"heroes":0,"version":"2"', "renamed": '"title":"Renamed"',
                "error": "no such table: hero_archive"},
}


def seen(host, app, case):
    return json.loads(host.file("/var/lib/wsgi-deploy-test/%s-%s.json" % (app, case)).content_string)


@pytest.mark.parametrize("app", APPS)
def test_the_first_deploy_serves_working_data_read_from_the_database(host, app):
    first = seen(host, app, "first")
    assert first["failure"] == "" and first["result"]["changed"] is True
    assert first["result"]["healthcheck_status"] == 200
    assert SAYS[app]["v1"] in first["body"]
    # The database outlives the releases, in the shared directory, the app's own.
    data = {"django": "data/db.sqlite3", "flaskr": "instance/flaskr.sqlite", "fastapi": "data/heroes.db"}[app]
    database = host.file("%s/shared/%s" % (ROOTS[app], data))
    assert database.exists and database.user == ROOTS[app].rsplit("/", 1)[1]


def test_djangos_static_files_are_collected_into_the_release_and_belong_to_the_deploying_user(host):
    css = host.file("/srv/notes/current/staticfiles/admin/css/base.css")
    assert css.exists and css.user == "root" and css.group == "notes" and not css.mode & 0o007


@pytest.mark.parametrize("app", APPS)
def test_a_migration_and_the_code_that_needs_it_go_live_under_load_without_a_failed_request(host, app):
    case = seen(host, app, "migrate")
    assert case["failure"] == ""
    assert case["result"]["reloaded"] is True
    assert case["load"]["failed"] == 0, case["load"]
    assert case["load"]["ok"] > 0
    assert SAYS[app]["v2"] in case["body"]
    # Every answer came from version 1, or from version 2 on the migrated database: the new code
    # never served before its migration ran (it would have failed), and nothing else answered.
    assert all(SAYS[app]["v1"] in body or SAYS[app]["v2"] in body for body in case["load"]["bodies"])


@pytest.mark.parametrize("app", APPS)
def test_the_same_source_again_makes_no_release_and_no_reload(host, app):
    before, again = seen(host, app, "migrate"), seen(host, app, "again")
    assert again["failure"] == "" and again["result"]["changed"] is False and again["result"]["reloaded"] is False
    assert again["releases"] == before["releases"]


@pytest.mark.parametrize("app", APPS)
def test_a_change_of_the_environment_alone_goes_live(host, app):
    case = seen(host, app, "env")
    assert case["failure"] == "" and case["result"]["reloaded"] is True
    assert SAYS[app]["renamed"] in case["body"] and SAYS[app]["v2"].split(",")[-1] in case["body"]
    # The secret reached the app through the release's environment file, never a world-readable one.
    env_file = host.file("%s/current/.wsgi-deploy-env" % ROOTS[app])
    assert env_file.mode == 0o640 and env_file.user == "root"


@pytest.mark.parametrize("app", APPS)
def test_a_failing_migration_stops_the_deploy_before_the_switch_and_the_live_release_serves_on(host, app):
    before, case = seen(host, app, "env"), seen(host, app, "broken")
    assert "a release command failed" in case["failure"] and "stopped before the new release went live" in case["failure"]
    assert SAYS[app]["error"] in case["failure"]
    assert SAYS[app]["renamed"] in case["body"]
    assert case["releases"] == before["releases"]
