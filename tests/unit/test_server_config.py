"""Whether a server's command line, environment or config names the app's path: whole, never as the
start of another (server_config.names_path), so that another app's master is never taken for it."""
import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.server_config import names_path


@pytest.mark.parametrize("text, named", [
    ("/srv/app", True), ("--chdir=/srv/app", True), ("/srv/app/main:app", True), ("/srv/app/", True),
    ("chdir = '/srv/app'", True), ("touch-chain-reload = /srv/app/run/reload.touch\n", True),
    ("/srv/app-admin", False), ("/srv/application/main:app", False), ("/opt/srv/app", False),
    ("--chdir=/srv/app2", False), ("x/srv/app", False),
])
def test_a_path_is_named_whole_never_as_the_start_of_another(text, named):
    assert names_path(text, "/srv/app") is named
