"""An application factory (module:factory()), with the app Flask's own sources ship: the tutorial
"flaskr" from Flask's sdist, served by its create_app() under both servers."""
import os
import shutil
import subprocess
import sys

import pytest

import sdist
from helpers import get, result_of

FLASK = "3.1.2"


@pytest.fixture(scope="session")
def flaskr(tmp_path_factory):
    """examples/tutorial from Flask's own source distribution, as PyPI serves it."""
    where = tmp_path_factory.mktemp("flask-sdist")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                    "--dest", str(where), "flask==%s" % FLASK], check=True, capture_output=True, timeout=300)
    sdist.extract(str(where / ("flask-%s.tar.gz" % FLASK)), str(where))
    return where / ("flask-%s" % FLASK) / "examples" / "tutorial"


@pytest.mark.parametrize("server", ["gunicorn", "uwsgi"])
def test_an_application_factory_is_served_by_both_servers(deploy, flaskr, server):
    app = deploy(server, reuse_venv=False)
    shutil.rmtree(app.src)
    shutil.copytree(flaskr, app.src)
    # The tutorial's pyproject.toml depends on flask; the role installs a requirements file.
    with open(os.path.join(app.src, "requirements.txt"), "w") as handle:
        handle.write("flask==%s\n" % FLASK)

    run = app.run(check=True, wsgi_deploy_app="flaskr:create_app()", wsgi_deploy_requirements="requirements.txt",
                  # create_app() makes its instance folder beside the package: one for every release.
                  wsgi_deploy_shared_dirs=["instance"],
                  wsgi_deploy_healthcheck_path="/hello", wsgi_deploy_healthcheck_text="Hello, World!")

    assert result_of(run)["healthcheck_status"] == 200
    assert get(app.port, "/hello") == "Hello, World!"
    assert os.path.isdir(os.path.join(app.root, "shared", "instance"))
