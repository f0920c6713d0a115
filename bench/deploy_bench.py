"""Deploy figures of the role on this machine: wall time and disk added per release.

For apps of 500 and of 10,000 files (the example app plus generated modules), the role
deploys fresh (virtualenv included), again with nothing changed, then with a one-line change;
the disk a release adds is what `du` counts for it beside the release before (hard links to
unchanged files count once, in the older one).
"""
import os
import subprocess
import tempfile
import time

from roledeploy import Deploy
from testservers import free_port, set_version


def make_files(src, total):
    """Fill the app up to `total` files of about 1 KiB, 100 to a package."""
    have = sum(len(names) for _, _, names in os.walk(src))
    for index in range(total - have):
        package = os.path.join(src, "generated", "pkg%03d" % (index // 100))
        os.makedirs(package, exist_ok=True)
        with open(os.path.join(package, "mod%03d.py" % (index % 100)), "w") as handle:
            handle.write("# generated module %d\nVALUE = %r\n" % (index, "x" * 1000))


def _du_kib(*paths):
    out = subprocess.run(["du", "-sk"] + list(paths), capture_output=True, text=True, check=True)
    return [int(line.split()[0]) for line in out.stdout.splitlines()]


def _timed(app, **extra):
    started = time.monotonic()
    app.run(check=True, **extra)
    return round(time.monotonic() - started, 2)


def bench_app(total, server="gunicorn"):
    app = Deploy(tempfile.mkdtemp(prefix="wsgi-bench-deploy-%d-" % total), free_port(), server)
    make_files(app.src, total)
    try:
        fresh = _timed(app)
        unchanged = _timed(app)
        set_version(app.src, "2")
        one_line = _timed(app)
        releases = sorted(os.listdir(os.path.join(app.root, "releases")))
        paths = [os.path.join(app.root, "releases", name) for name in releases[-2:]]
        whole, added = _du_kib(*paths)
    finally:
        app.stop()
    return {"files": total, "server": server, "fresh_s": fresh, "unchanged_s": unchanged,
            "one_line_change_s": one_line, "release_kib": whole, "added_kib": added}


def run(sizes=(500, 10000)):
    return [bench_app(total) for total in sizes]


def print_table(rows):
    print("%7s %9s %11s %17s %13s %12s" % ("files", "fresh s", "unchanged s", "one-line change s",
                                          "release KiB", "added KiB"))
    for row in rows:
        print("%7d %9.2f %11.2f %17.2f %13d %12d" % (
            row["files"], row["fresh_s"], row["unchanged_s"], row["one_line_change_s"],
            row["release_kib"], row["added_kib"]))
