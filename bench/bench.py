#!/usr/bin/env python3
"""wsgi-deploy's figures, measured on this machine: prints tables, writes the same as JSON.

    ./dev bench                      # or: .venv/bin/python bench/bench.py --reloads 10

Reloads (bench/reload_bench.py): for each server and method, failed requests under a bounded
load during N consecutive deploys, each reload's duration, and how long after the server's own
end the module returned; the seed's uWSGI setup with a 10 s request in flight. Deploys
(bench/deploy_bench.py): wall time fresh, unchanged and after a one-line change, and disk added
per release, for apps of 500 and 10,000 files. Fleets (bench/fleet_bench.py): a rolling deploy
of three hosts behind haproxy beside one host's, with and without a drain, and the requests that
failed at the balancer. With --ansistrano PATH (a checkout of
ansistrano/deploy, or a bare git dir of it), also Ansistrano beside the role
(bench/ansistrano_bench.py), locally and over SSH. No test asserts any of these.
"""
import argparse
import json
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The collection by its full name through the checkout's collections/ link, as pytest.ini has it.
sys.path[:0] = [os.path.join(ROOT, "collections"), os.path.join(ROOT, "tools"), os.path.join(ROOT, "bench")]

import ansistrano_bench  # noqa: E402
import deploy_bench  # noqa: E402
import fleet_bench  # noqa: E402
import reload_bench  # noqa: E402


def machine():
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "system": "%s %s" % (platform.system(), platform.release()),
            "when": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reloads", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-deploys", action="store_true", help="only the reload figures")
    parser.add_argument("--only-fleet", action="store_true", help="only the fleet figures")
    parser.add_argument("--ansistrano", metavar="PATH",
                        help="also Ansistrano beside the role: a checkout of it, or a bare git dir")
    parser.add_argument("--ansistrano-runs", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "bench.json"))
    args = parser.parse_args()

    figures = {"machine": machine()}
    if not args.only_fleet:
        figures["reloads"] = reload_bench.run(args.reloads, args.clients, args.workers)
    if not args.skip_deploys:
        if not args.only_fleet:
            figures["deploys"] = deploy_bench.run()
        figures["fleet"] = fleet_bench.run(args.clients)
    if args.ansistrano:
        figures["ansistrano"] = ansistrano_bench.run(args.ansistrano, args.ansistrano_runs)

    print("machine: %(cpus)d CPUs, Python %(python)s, %(system)s, %(when)s" % figures["machine"])
    print()
    if "reloads" in figures:
        reload_bench.print_tables(figures["reloads"])
    if "deploys" in figures:
        print()
        deploy_bench.print_table(figures["deploys"])
    if "fleet" in figures:
        print()
        fleet_bench.print_table(figures["fleet"])
    if "ansistrano" in figures:
        print()
        ansistrano_bench.print_tables(figures["ansistrano"])
        ansistrano_bench.write(dict(figures["ansistrano"], machine=figures["machine"]))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(figures, handle, indent=2)
    print("\nwritten to %s" % os.path.relpath(args.out, ROOT))


if __name__ == "__main__":
    main()
