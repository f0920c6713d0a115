import pytest

from testservers import Server


def _server(kind, tmp_path, **kwargs):
    server = Server(kind, tmp_path, **kwargs)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def gunicorn(tmp_path):
    yield from _server("gunicorn", tmp_path)


@pytest.fixture
def uwsgi(tmp_path):
    yield from _server("uwsgi", tmp_path)


@pytest.fixture(params=["gunicorn", "uwsgi"])
def server(request, tmp_path):
    yield from _server(request.param, tmp_path)
