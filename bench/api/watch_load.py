#!/usr/bin/python3
"""Hold N WatchRegistrations streams open against a Switchboard and count events.

usage: watch_load.py --server HOST:PORT --token T --stubs DIR [--watchers 100]
Runs until SIGTERM/SIGINT, then prints one key=value line:
  watchers=N events_total=E events_min=… events_max=… errors=K
Every watcher reads every event (all realms, live only): the worst case for
the server's fan-out. Uses Debian's python3-grpcio; DIR holds the generated
registration_pb2*.py (bench/api/watchers_bench.sh generates them).
"""
import argparse
import signal
import sys
import threading

ap = argparse.ArgumentParser()
ap.add_argument("--server", required=True)
ap.add_argument("--token", required=True)
ap.add_argument("--stubs", required=True)
ap.add_argument("--watchers", type=int, default=100)
a = ap.parse_args()
sys.path.insert(0, a.stubs)
import grpc  # noqa: E402
from switchboard.v1 import registration_pb2, registration_pb2_grpc  # noqa: E402

channel = grpc.insecure_channel(a.server)
stub = registration_pb2_grpc.RegistrationServiceStub(channel)
meta = (("authorization", "Bearer " + a.token),)
counts = [0] * a.watchers
errors = []
calls = []
lock = threading.Lock()


def watch(i):
    call = stub.WatchRegistrations(registration_pb2.WatchRegistrationsRequest(), metadata=meta)
    with lock:
        calls.append(call)
    try:
        for _ in call:
            counts[i] += 1
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.CANCELLED:
            errors.append("%s: %s" % (e.code().name, e.details()))


threads = [threading.Thread(target=watch, args=(i,), daemon=True) for i in range(a.watchers)]
for t in threads:
    t.start()
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
print("ready", flush=True)
stop.wait()
with lock:
    for c in calls:
        c.cancel()
print("watchers=%d events_total=%d events_min=%d events_max=%d errors=%d%s" % (
    a.watchers, sum(counts), min(counts), max(counts), len(errors),
    (" first_error=\"%s\"" % errors[0]) if errors else ""), flush=True)
