"""Under pytest-xdist (./dev pytest runs two processes), the tests that share the app's user (it
is made and removed by the role tests) run one after the other, in one process."""
import pytest

SHARED_USER_FIXTURES = {"app_user_deploy"}


def pytest_collection_modifyitems(items):
    for item in items:
        if SHARED_USER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("app_user"))
