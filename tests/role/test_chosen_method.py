"""Each reload method chosen by wsgi_deploy_reload_method, on a role-managed server."""
import pytest

from helpers import get, result_of, set_version


@pytest.mark.parametrize("server, method", [("gunicorn", "usr2"), ("uwsgi", "fifo"), ("uwsgi", "workers")])
def test_the_chosen_method_reloads_onto_the_new_code(deploy, server, method):
    app = deploy(server)
    app.run(check=True, wsgi_deploy_reload_method=method)
    set_version(app, "2")
    result = result_of(app.run(check=True, wsgi_deploy_reload_method=method))
    assert result["reloaded"] is True and result["method"] == method
    assert len(result["new_pids"]) == 2 and not set(result["new_pids"]) & set(result["old_pids"])
    assert get(app.port) == "hello v2"

