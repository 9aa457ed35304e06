#!/bin/sh
# Call bench (bench/calls/call_bench.py does the work; see its --help):
#   (a) CreateCall -> INVITE-on-the-wire latency p50/p99 (sequential calls),
#   (b) sustained CreateCall(wait ANSWERED)+HangupCall rate at increasing
#       client concurrency, with failures and CPU of both sides.
# Starts its own switchboard on loopback (free ports, temporary data dir) with
# N users registered by a Python UDP device farm that answers every INVITE.
#
#   bench/calls/call_bench.sh                       # build/bin/switchboard, 100 users
#   bench/calls/call_bench.sh --users 1000 --concurrency 1,8,32 --duration 20 --auth
#   bench/calls/call_bench.sh --binary build-mem/bin/switchboard --taskset 0
#
# Needs Debian's python3-grpcio (make deps) and the generated call stubs
# (build/clients/python/gen, else generated with protoc + grpc_python_plugin).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 "$here/call_bench.py" "$@"
