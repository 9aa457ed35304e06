#!/usr/bin/env python3
"""Installs the Node client's dependencies for the tests: `npm ci` from
clients/node/package-lock.json into a build-tree copy (build/clients/node),
so concurrent builds never share a node_modules. A no-op when the installed
tree matches the lock file (its copy is kept as a stamp). The ctest fixture
e2e.node_deps runs it before e2e.api_client_node, which then runs the
example with NODE_PATH=build/clients/node/node_modules.

usage: node_deps.py --source clients/node --dest build/clients/node
"""
import argparse
import filecmp
import os
import shutil
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--dest", required=True)
    args = ap.parse_args()

    npm = shutil.which("npm")
    if not npm or not shutil.which("node"):
        print("node_deps: node and npm are needed: install the Debian packages nodejs npm "
              "(make deps)", flush=True)
        return 1
    os.makedirs(args.dest, exist_ok=True)
    lock = os.path.join(args.source, "package-lock.json")
    stamp = os.path.join(args.dest, "node_modules", ".switchboard-package-lock.json")
    if os.path.exists(stamp) and filecmp.cmp(lock, stamp, shallow=False):
        print("node_deps: %s/node_modules is up to date" % args.dest, flush=True)
        return 0
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(os.path.join(args.source, name), os.path.join(args.dest, name))
    cmd = [npm, "ci", "--no-audit", "--no-fund", "--prefix", args.dest]
    print("node_deps: " + " ".join(cmd), flush=True)
    rc = subprocess.run(cmd, stdin=subprocess.DEVNULL).returncode
    if rc != 0:
        print("node_deps: npm ci failed (%d): is the npm registry reachable?" % rc, flush=True)
        return 1
    shutil.copyfile(lock, stamp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
