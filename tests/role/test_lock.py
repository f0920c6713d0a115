"""Two deploys to one host at once: the second waits for the first, or fails clearly."""
import os
import threading

from helpers import get, releases, result_of, set_version



def test_a_deploy_waits_for_a_held_lock_then_fails_clearly_and_changes_nothing(deploy):
    app = deploy("gunicorn")
    app.run(check=True)
    before = releases(app)
    lock = os.path.join(app.root, ".deploy.lock")
    os.mkdir(lock)
    set_version(app, "2")

    run = app.run(wsgi_deploy_lock_timeout=2)

    assert run.returncode != 0
    assert "another deploy holds the lock %s" % lock in run.stdout
    assert "Nothing was changed" in run.stdout
    assert releases(app) == before and get(app.port) == "hello v1"
    assert os.path.isdir(lock), "a deploy that did not take the lock must not remove it"

    os.rmdir(lock)
    app.run(check=True)
    assert get(app.port) == "hello v2" and not os.path.exists(lock)


def test_two_deploys_at_once_run_one_after_the_other(deploy):
    app = deploy("gunicorn")
    app.run(check=True)
    set_version(app, "2")
    runs = []
    threads = [threading.Thread(target=lambda: runs.append(app.run())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [run.returncode for run in runs] == [0, 0], [r.stdout[-2000:] for r in runs]
    results = sorted((result_of(run) for run in runs), key=lambda result: not result["changed"])
    assert results[0]["changed"] is True and results[0]["reloaded"] is True
    assert results[1]["changed"] is False, "the second deploy saw the first one's release"
    assert len(releases(app)) == 2
    assert get(app.port) == "hello v2"
    assert not os.path.exists(os.path.join(app.root, ".deploy.lock"))
