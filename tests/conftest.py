"""The order pytest's processes take the test files in (./dev pytest runs two, a file each at a
time): the longest first, so that no long file starts last while the other process idles. Measured
on 2026-12-07 (tests/role/test_fleet.py alone takes over four minutes); the rest keep their order."""

LONGEST_FIRST = [
    "tests/role/test_fleet.py",
    "tests/role/test_releases.py",
    "tests/role/test_dependencies.py",
    "tests/role/test_app_env.py",
    "tests/role/test_hooks.py",
    "tests/role/test_fleet_drain.py",
    "tests/role/test_role_local.py",
    "tests/role/test_chosen_method.py",
    "tests/role/test_interruptions.py",
    "tests/role/test_asgi_workers.py",
]


def pytest_collection_modifyitems(session, config, items):
    def rank(item):
        path = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)
    # sorted() is stable: within a file, and among the files not named, the order stays.
    items[:] = sorted(items, key=rank)
