#!/usr/bin/env python3
"""Two replicas: CreateCall via B rings a sipp UAS registered via A, and every
call event reaches B's caller (docs/scale-out.md, "Calls across replicas").

A redis-server of the test's own and two switchboard replicas "a" and "b" on
it (redis_replicas_test.Replica: the same prefix, realm, users, nonce secret,
API token and replica.token; replica.advertise = each one's gRPC address).

  1. A sipp device (call_e2e.SippDevice: reg_expires_any.xml with its 401
     round, then uas_answer.xml on the same UDP port: 100, 180, 200 with SDP,
     ACK, BYE) registers through A. B's `binding list` must show the binding
     from the device's port with replica "a".
  2. A WatchCalls stream on B (python3-grpcio) is subscribed before the call:
     its headers come once B's streams to its peers are open.
  3. `sbctl call create --wait answered` through B exits 0 with the call
     ANSWERED, one branch, answered by the device's contact.
  4. The device received exactly one INVITE, whose top Via sent-by is A's
     SIP listener (127.0.0.1:<A's UDP port>), not B's: A sent it, on the flow
     the device registered on.
  5. B's watcher has the call's events in order, each once: RINGING before
     ANSWERED, increasing sequence numbers, the call's name as B returned it.
  6. `sbctl call get` through B: ANSWERED. `sbctl call hangup` through B: exit
     0, the device receives the BYE (its scenario ends: sipp exits 0, and the
     BYE's Via is A's too), B's watcher sees ENDED HANGUP_API after ANSWERED,
     `call get` through B then shows ENDED HANGUP_API, and A's log has the
     call's CREATED and ENDED HANGUP_API lines (the call ran at A).
  7. kill -9 of A. B still lists the device's binding with replica "a" (it is
     in Redis). CreateCall through B for the device then fails at once: sbctl
     exits 3 (UNAVAILABLE) with reason REPLICA_UNREACHABLE (A's heartbeat has
     not lapsed yet) or REPLICA_GONE; within 20 s it is REPLICA_GONE, naming
     replica a, when Redis no longer holds A's heartbeat key. No INVITE
     reaches the device's port meanwhile (nothing is sent from B).

usage: call_replicas_test.py --binary build/bin/switchboard --sbctl build/bin/sbctl
                             --gen-dir build/clients/python/gen
"""
import argparse
import atexit
import re
import secrets
import shutil
import socket
import time

import api_e2e as api
import call_e2e as calls
import redis_replicas_test as rr
import switchboard_e2e as e2e
from redis_store_test import RedisServer

REALM = rr.REALM
USER = "dev"
GONE_WITHIN = 20  # s: the heartbeat's 10 s TTL, its 2 s refresh, the 1 s cache, and slack


def top_via(message):
    vias = calls.header_values(message, "via") + calls.header_values(message, "v")
    e2e.check(vias, "no Via in:\n%s" % message)
    return e2e.split_commas(vias[0])[0]


def via_sent_by(message):
    """(transport, host, port) of the top Via."""
    m = re.match(r"SIP\s*/\s*2\.0\s*/\s*(\w+)\s+([^;:\s]+):(\d+)", top_via(message), re.I)
    e2e.check(m is not None, "cannot read the sent-by of the top Via %r" % top_via(message))
    return m.group(1).upper(), m.group(2), int(m.group(3))


def create_via_b(sb_b, *extra, timeout=45):
    """sbctl --json call create --to sip:USER@REALM through B; (rc, out, err)."""
    return sb_b.run("--json", "call", "create", "--to", "sip:%s@%s" % (USER, REALM), *extra,
                    timeout=timeout)


def run(args, state):
    work = e2e.temp_dir("call-replicas")
    state["work"] = work
    password = e2e.random_password()
    users = [(USER, password)]
    admin_token, admin_sha = api.new_token()
    shared = {"admin_token": admin_token, "admin_sha": admin_sha,
              "nonce_secret": secrets.token_urlsafe(32),
              "replica_token": secrets.token_urlsafe(32)}
    redis = RedisServer(work).start()
    state["redis"] = redis
    a = rr.Replica(args.binary, work, "a", redis, users, shared).start()
    state["a"] = a
    b = rr.Replica(args.binary, work, "b", redis, users, shared).start()
    state["b"] = b
    sb_a, sb_b = api.Sbctl(args.sbctl, a), api.Sbctl(args.sbctl, b)
    sb_a.wait_serving()
    sb_b.wait_serving()
    e2e.check(a.udp_port != b.udp_port, "both replicas on one SIP port")
    e2e.log("replica a: sip udp %d, grpc %s; replica b: sip udp %d, grpc %s" %
            (a.udp_port, a.grpc_address, b.udp_port, b.grpc_address))

    # ---- 1. the device registers through A; B lists it with replica "a" -----------
    dev = calls.SippDevice(work, a, REALM, USER, password, "uas_answer.xml", timeout=40)
    state["devices"].append(dev)
    dev.register_and_listen()
    binding = calls.wait_binding(sb_b, REALM, USER, dev.port)
    e2e.check(binding.get("replica") == "a",
              "B lists the device's binding with replica %r, expected \"a\": %s" %
              (binding.get("replica"), binding))
    e2e.check(":%d" % dev.port in binding.get("contact", ""),
              "B lists the binding with contact %r, not the device's port %d" %
              (binding.get("contact"), dev.port))
    e2e.log("1. device registered through A from port %d; B lists %s, replica a" %
            (dev.port, binding["contact"]))

    # ---- 2. B's watcher, subscribed before the call --------------------------------
    watcher = calls.GrpcCallWatcher(args.gen_dir, b.grpc_address, admin_token)
    state["watchers"].append(watcher)
    e2e.log("2. WatchCalls on B subscribed (headers after %.0f ms)" %
            (watcher.subscribe_seconds * 1000))

    # ---- 3. CreateCall through B, answered by the device held by A -----------------
    started = time.time()
    rc, out, err = create_via_b(sb_b, "--wait", "answered", "--timeout", "20")
    e2e.check(rc == 0, "call create --wait answered through B exited %d:\n%s%s\n%s" %
              (rc, out, err, dev.sipp.report()))
    call = calls.parse_json(out, "call create")
    name = call.get("name", "")
    e2e.check(re.fullmatch(r"calls/c[0-9a-f]+", name) is not None, "call name %r" % name)
    e2e.check(call.get("state") == "ANSWERED",
              "call create --wait answered through B returned state %s: %s" %
              (call.get("state"), call))
    e2e.check(call.get("direction") == "OUTBOUND" and call.get("branches") == 1,
              "direction/branches of the call: %s" % call)
    e2e.check(":%d" % dev.port in call.get("answered_contact", ""),
              "answered_contact %r is not the device (port %d)" %
              (call.get("answered_contact"), dev.port))
    e2e.check("m=audio" in call.get("remote_sdp", ""), "no SDP answer in the call: %s" % call)
    e2e.log("3. %s ANSWERED through B in %.2f s (answered_contact %s)" %
            (name, time.time() - started, call["answered_contact"]))

    # ---- 4. the INVITE left from A's SIP listener -----------------------------------
    invites = calls.unique_requests(dev.sipp.received("INVITE "))
    e2e.check(len(invites) == 1, "the device received %d INVITE transactions, expected 1\n%s" %
              (len(invites), dev.sipp.report()))
    transport, host, port = via_sent_by(invites[0])
    e2e.check((transport, host, port) == ("UDP", e2e.HOST, a.udp_port),
              "the INVITE's top Via is %s %s:%d; A's SIP listener is UDP %s:%d, B's %d:\n%s" %
              (transport, host, port, e2e.HOST, a.udp_port, b.udp_port, invites[0]))
    acks = calls.unique_requests(dev.sipp.received("ACK "))
    e2e.check(len(acks) == 1 and via_sent_by(acks[0])[2] == a.udp_port,
              "the ACK(s) at the device: %s" % [via_sent_by(x) for x in acks])
    e2e.log("4. the device's INVITE (and ACK) came with Via SIP/2.0/UDP %s:%d: A's listener "
            "(B's is %d)" % (host, port, b.udp_port))

    # ---- 5. B's watcher saw the call, in order -----------------------------------------
    answered = watcher.wait_for(name, "ANSWERED", 10)
    ringing = watcher.wait_for(name, "RINGING", 1)
    mine = watcher.call_events(name)
    sequences = [e["sequence"] for e in mine]
    kinds = [e["type"] for e in mine]
    e2e.check(ringing["sequence"] < answered["sequence"],
              "RINGING after ANSWERED at B: %s" % calls.summary(mine))
    e2e.check(sequences == sorted(set(sequences)),
              "B's sequence numbers for %s are not increasing: %s" % (name, calls.summary(mine)))
    for kind in ("RINGING", "ANSWERED"):
        e2e.check(kinds.count(kind) == 1, "B's watcher has %s %d times for %s: %s" %
                  (kind, kinds.count(kind), name, calls.summary(mine)))
    e2e.check("m=audio" in answered["call"].get("remote_sdp", ""),
              "ANSWERED at B without the SDP answer: %s" % answered)
    e2e.log("5. B's watcher: %s" % calls.summary(mine))

    # ---- 6. get and hangup through B ------------------------------------------------
    got = sb_b.json("call", "get", name)
    e2e.check(got.get("name") == name and got.get("state") == "ANSWERED",
              "call get through B: %s" % got)
    sb_b.ok("call", "hangup", calls.call_id(call))
    dev.expect_success("hangup through B: the BYE at the device")
    byes = calls.unique_requests(dev.sipp.received("BYE "))
    e2e.check(len(byes) == 1 and via_sent_by(byes[0])[2] == a.udp_port,
              "the BYE(s) at the device: %s" % [via_sent_by(x) for x in byes])
    ended = watcher.wait_for(name, "ENDED", 10)
    e2e.check(ended["call"].get("end_reason") == "HANGUP_API",
              "ENDED at B with end_reason %s: %s" % (ended["call"].get("end_reason"), ended))
    mine = watcher.call_events(name)
    kinds = [e["type"] for e in mine]
    e2e.check(kinds.count("ENDED") == 1 and ended["sequence"] > answered["sequence"] and
              [e["sequence"] for e in mine] == sorted({e["sequence"] for e in mine}),
              "B's events for %s after the hangup: %s" % (name, calls.summary(mine)))
    got = sb_b.json("call", "get", name)
    e2e.check(got.get("state") == "ENDED" and got.get("end_reason") == "HANGUP_API",
              "call get through B after the hangup: %s" % got)
    call_lines = [(x.get("event"), x.get("end_reason")) for x in a.log_lines()
                  if x.get("msg") == "call event" and x.get("call") == calls.call_id(call)]
    e2e.check(("CREATED", "END_REASON_UNSPECIFIED") in call_lines and
              ("ENDED", "HANGUP_API") in call_lines,
              "A's log does not show the call running there (CREATED ... ENDED HANGUP_API): %s" %
              call_lines)
    e2e.log("6. call get through B: ANSWERED; hangup through B: BYE from A at the device "
            "(sipp exit 0); B's watcher: %s; A's log: %s" %
            (calls.summary(mine), ", ".join(e for e, _ in call_lines)))

    # ---- 7. kill -9 of A: calls to its device fail at B, nothing is sent -------------
    # The device's port, now free (its sipp ended): anything sent to the
    # device from here on arrives here.
    device_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    state["sockets"].append(device_sock)
    device_sock.bind((e2e.HOST, dev.port))
    device_sock.setblocking(False)
    a.kill()
    e2e.log("7. replica a (pid %d) killed with SIGKILL" % a.proc.pid)
    after = calls.wait_binding(sb_b, REALM, USER, dev.port, timeout=2)
    e2e.check(after.get("replica") == "a",
              "after kill -9 of A, B lists the binding with replica %r: %s" %
              (after.get("replica"), after))
    redis_key = "%saor:%s@%s" % (rr.PREFIX, USER, REALM)
    heartbeat_key = "%sreplica:a" % rr.PREFIX
    r = redis.client()
    try:
        e2e.check(r.call("EXISTS", redis_key) == 1, "Redis lost %s after A died" % redis_key)
    finally:
        r.close()

    def refused_call():
        rc, out, err = create_via_b(sb_b, timeout=30)
        reason = re.search(r"reason (REPLICA_\w+)", err)
        e2e.check(rc == 3 and reason is not None and
                  reason.group(1) in ("REPLICA_UNREACHABLE", "REPLICA_GONE"),
                  "call create through B for the device of the killed replica a exited %d, "
                  "expected 3 (UNAVAILABLE) with REPLICA_UNREACHABLE or REPLICA_GONE:\n%s%s" %
                  (rc, out, err))
        e2e.check(re.search(r"^\s*replica=a$", err, re.M) is not None,
                  "the refusal does not name replica a:\n%s" % err)
        return reason.group(1), err

    killed = time.time()
    first, first_err = refused_call()
    e2e.log("7. right after the kill: exit 3, %s: %s" %
            (first, " ".join(first_err.split())[:200]))
    reasons = [first]
    reason, err = first, first_err
    while reason != "REPLICA_GONE":
        e2e.check(time.time() - killed < GONE_WITHIN,
                  "still no REPLICA_GONE %d s after kill -9 of A: %s" % (GONE_WITHIN, reasons))
        time.sleep(0.5)
        reason, err = refused_call()
        reasons.append(reason)
    gone_after = time.time() - killed
    e2e.check("which is not running" in err, "REPLICA_GONE without its explanation:\n%s" % err)
    r = redis.client()
    try:
        e2e.check(r.call("EXISTS", heartbeat_key) == 0,
                  "B answered REPLICA_GONE while Redis still holds %s" % heartbeat_key)
        e2e.check(r.call("EXISTS", redis_key) == 1, "Redis lost %s" % redis_key)
    finally:
        r.close()
    stray = []
    while True:
        try:
            stray.append(device_sock.recvfrom(65535))
        except BlockingIOError:
            break
    e2e.check(not stray, "after kill -9 of A the device's port received %d message(s): %s" %
              (len(stray), [d[:80] for d, _ in stray]))
    e2e.log("7. %d refused CreateCalls through B (%s), REPLICA_GONE %.1f s after the kill; "
            "nothing reached the device's port" %
            (len(reasons), ", ".join("%s x%d" % (k, reasons.count(k))
                                     for k in dict.fromkeys(reasons)), gone_after))

    watcher.kill()
    rc = b.stop()
    e2e.check(rc == 0, "replica b exited %s on SIGTERM" % rc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--sbctl", required=True)
    ap.add_argument("--gen-dir", required=True, help="build/clients/python/gen")
    args = ap.parse_args()
    state = {"devices": [], "watchers": [], "sockets": []}

    def test():
        try:
            run(args, state)
        except e2e.TestFailure:
            # The logs of a killed replica are not dumped by main_wrapper; keep them all.
            a = state.get("a")
            if a is not None and a not in e2e.Server.running:
                a.dump_log()
            if state.get("work"):
                atexit.unregister(shutil.rmtree)
                e2e.log("logs kept in %s" % state["work"])
            raise
        finally:
            for w in state["watchers"]:
                w.kill()
            for dev in state["devices"]:
                if dev.sipp:
                    dev.sipp.kill()
            for s in state["sockets"]:
                s.close()
            if state.get("redis"):
                state["redis"].stop()

    e2e.main_wrapper(test)


if __name__ == "__main__":
    main()
