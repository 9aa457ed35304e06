#!/usr/bin/env python3
"""Registration events over the gRPC API: exactly the right events, in order,
resumable without gap or duplicate (also across a server restart), with
OUT_OF_RANGE for a trimmed sequence and RESOURCE_EXHAUSTED for a stalled
watcher. Devices are sipp; watchers are `sbctl --json watch` (and one raw
Python gRPC stream that never reads).

Parts:
  1. register, refresh, unregister (Expires: 0) one contact, then register a
     second contact with Expires: 2 and let it expire: a watcher sees exactly
     REGISTERED, REFRESHED, UNREGISTERED, REGISTERED, EXPIRED, for the right
     contacts, with strictly increasing sequences.
  2. a watcher killed (SIGKILL) after two events and resumed with --since LAST
     gets exactly the events it missed and the later ones: nothing missing,
     nothing repeated.
  3. the same across a server restart on the same data directory: --since 0
     replays the identical events, --since LAST then carries on with the next
     registration. A wrong password gives a live AUTH_FAILED event.
  4. events.max_count small: --since older than retained → OUT_OF_RANGE naming
     the oldest available (exit 1); newer than the newest → OUT_OF_RANGE; the
     oldest retained boundary replays exactly the retained events.
  5. events.watcher_buffer small: a raw stream that never reads is ended with
     RESOURCE_EXHAUSTED while 1,000 sipp registrations all succeed and a
     normal watcher receives every event.

usage: api_events_test.py --binary build/bin/switchboard --sbctl build/bin/sbctl
                          --gen-dir build/clients/python/gen
"""
import argparse
import os
import threading
import time

import api_e2e as api
import switchboard_e2e as e2e

REALM = "events.e2e.test"


def essence(event):
    """What must be identical when the same event is delivered twice."""
    b = event.get("binding", {})
    return (event["sequence"], event["type"], b.get("aor"), b.get("contact"))


def check_increasing(events, what):
    seqs = [e["sequence"] for e in events]
    e2e.check(all(a < b for a, b in zip(seqs, seqs[1:])),
              "%s: sequences not strictly increasing: %s" % (what, seqs))


def provision(sb, realm, users, *realm_options):
    sb.ok("realm", "create", realm, *realm_options)
    for user, password in users:
        sb.ok("credential", "create", realm, user, "--password-stdin", stdin=password + "\n")


def part_lifecycle_resume_restart(args, work):
    server = api.ApiServer(args.binary, work, name="events").start()
    sb = api.Sbctl(args.sbctl, server)
    sb.wait_serving()
    pw = e2e.random_password()
    provision(sb, REALM, [("dev", pw)], "--min-expires", "1", "--default-expires", "60")
    aor = "sip:dev@" + REALM
    port1, port2, port3 = e2e.free_port(), e2e.free_port(), e2e.free_port()

    reference = sb.watch("--since", "0", "--realm", REALM)   # runs throughout
    victim = sb.watch("--since", "0", "--realm", REALM)      # killed mid-stream

    # Part 1 (first half) and part 2: register + refresh, then kill the victim.
    api.sipp_register(work, server, REALM, "dev", pw, port1, expires=60)
    api.sipp_register(work, server, REALM, "dev", pw, port1, expires=60)
    got = victim.events_until(2, 15)
    victim.kill()
    last_seen = got[-1]["sequence"]
    e2e.log("victim killed after %s" % api.summary(got))

    api.sipp_register(work, server, REALM, "dev", pw, port1, expires=0)
    api.sipp_register(work, server, REALM, "dev", pw, port2, expires=2)
    events = reference.events_until(5, 20)  # the EXPIRED comes ~2 s after the REGISTERED
    e2e.log("reference watcher: %s" % api.summary(events))

    want = [("REGISTERED", port1), ("REFRESHED", port1), ("UNREGISTERED", port1),
            ("REGISTERED", port2), ("EXPIRED", port2)]
    for event, (kind, port) in zip(events, want):
        b = event.get("binding", {})
        e2e.check(event["type"] == kind and b.get("aor") == aor and
                  b.get("contact", "").startswith("sip:dev@127.0.0.1:%d" % port),
                  "expected %s of sip:dev@127.0.0.1:%d, got %s" % (kind, port, event))
    e2e.check(events[2].get("reason") == "expires=0", "UNREGISTERED reason: %r" %
              events[2].get("reason"))
    check_increasing(events, "reference watcher")
    e2e.check(got == events[:2], "the victim saw %s, the reference %s" %
              (api.summary(got), api.summary(events[:2])))
    reference.no_event_for(1.0)
    e2e.log("exactly REGISTERED, REFRESHED, UNREGISTERED, REGISTERED, EXPIRED")

    # Part 2: resume after the kill.
    with sb.watch("--since", str(last_seen), "--realm", REALM) as resumed:
        missed = resumed.events_until(3, 10)
        resumed.no_event_for(0.5)
    e2e.check([essence(e) for e in missed] == [essence(e) for e in events[2:]],
              "resumed --since %d: got %s, expected %s" %
              (last_seen, api.summary(missed), api.summary(events[2:])))
    e2e.log("resumed after SIGKILL with --since %d: %s" % (last_seen, api.summary(missed)))

    # Part 3: across a restart on the same data directory.
    e2e.check(server.stop() == 0, "unclean stop")
    rc, err = reference.finish(15)
    e2e.check(rc != 0, "the watcher exited 0 when the server went away")
    server.start()
    sb.wait_serving()
    with sb.watch("--since", "0", "--realm", REALM) as replay:
        replayed = replay.events_until(5, 10)
        replay.no_event_for(0.5)
    e2e.check([essence(e) for e in replayed] == [essence(e) for e in events],
              "after restart --since 0 replayed %s, expected %s" %
              (api.summary(replayed), api.summary(events)))
    last = events[-1]["sequence"]
    with sb.watch("--since", str(last), "--realm", REALM) as after, \
            sb.watch("--since", str(last_seen), "--realm", REALM) as old_resume:
        api.sipp_register(work, server, REALM, "dev", pw, port3, expires=60)
        new = after.events_until(1, 10)[0]
        e2e.check(new["type"] == "REGISTERED" and new["sequence"] > last and
                  new["binding"]["contact"].startswith("sip:dev@127.0.0.1:%d" % port3),
                  "first event after restart: %s (last before: %d)" % (new, last))
        after.no_event_for(0.5)
        both = old_resume.events_until(4, 10)
        e2e.check([essence(e) for e in both] == [essence(e) for e in events[2:] + [new]],
                  "resume --since %d across the restart: %s" % (last_seen, api.summary(both)))
    e2e.log("across a restart: replay identical, resume continues at #%d" % new["sequence"])

    # AUTH_FAILED is live only and carries the latest stored sequence.
    with sb.watch("--realm", REALM) as live:
        sb.wait_serving()
        deadline = time.time() + 10
        uac = e2e.SipUac(server.udp_port)
        failed = None
        while failed is None and time.time() < deadline:
            # The watch may not be registered on the server yet: retry until seen.
            uac.register("dev", "wrong-password", REALM, "<sip:dev@127.0.0.1:%d>" % port3)
            try:
                failed = live.next_event(1.0)
            except e2e.TestFailure:
                pass
        uac.close()
        e2e.check(failed is not None and failed["type"] == "AUTH_FAILED",
                  "no AUTH_FAILED event for a wrong password: %s" % failed)
        e2e.check(failed["sequence"] == new["sequence"],
                  "AUTH_FAILED carries sequence %d, the latest stored is %d" %
                  (failed["sequence"], new["sequence"]))
    e2e.check(server.stop() == 0, "unclean stop")


def part_out_of_range(args, work):
    server = api.ApiServer(args.binary, work, events="  max_count: 3\n", name="trim").start()
    sb = api.Sbctl(args.sbctl, server)
    sb.wait_serving()
    pw = e2e.random_password()
    provision(sb, REALM, [("dev", pw)])
    port = e2e.free_port()
    with sb.watch("--since", "0", "--realm", REALM) as w:
        for _ in range(5):
            api.sipp_register(work, server, REALM, "dev", pw, port, expires=600)
        events = w.events_until(5, 15)
    seqs = [e["sequence"] for e in events]
    e2e.log("5 events: %s; the log keeps 3" % seqs)
    oldest = seqs[2]

    # Trimming may run after the commit: allow it a few seconds.
    deadline = time.time() + 10
    while True:
        rc, out, err = sb.run("watch", "--since", str(seqs[0]), timeout=10)
        if rc != 0 or time.time() > deadline:
            break
    e2e.check(rc == 1 and "OUT_OF_RANGE" in err,
              "--since %d (trimmed): expected exit 1 with OUT_OF_RANGE, got %d: %s%s" %
              (seqs[0], rc, out, err))
    e2e.check(str(oldest) in err, "OUT_OF_RANGE does not name the oldest retained sequence %d: %s" %
              (oldest, err))
    e2e.check("oldest_sequence" in err, "no ErrorInfo metadata oldest_sequence: %s" % err)
    e2e.log("--since %d → OUT_OF_RANGE: %s" % (seqs[0], err.strip().splitlines()[0]))

    rc, out, err = sb.run("watch", "--since", str(seqs[-1] + 10), timeout=10)
    e2e.check(rc == 1 and "OUT_OF_RANGE" in err,
              "--since beyond the newest: expected OUT_OF_RANGE, got %d %s" % (rc, err))

    with sb.watch("--since", str(seqs[1]), "--realm", REALM) as w:
        kept = w.events_until(3, 10)
        w.no_event_for(0.5)
    e2e.check([e["sequence"] for e in kept] == seqs[2:],
              "--since %d: got %s, expected %s" % (seqs[1], [e["sequence"] for e in kept],
                                                     seqs[2:]))
    e2e.check(server.stop() == 0, "unclean stop")


class ResumingWatcher:
    """`sbctl watch --since S …` restarted from its last sequence whenever the
    server ends it (RESOURCE_EXHAUSTED: fell behind); events accumulate."""

    def __init__(self, sb, *filters):
        self.sb, self.filters, self.events, self.resumes = sb, filters, [], 0
        self.watcher = self.sb.watch("--since", "0", *self.filters)

    def events_until(self, count, timeout):
        deadline = time.time() + timeout
        while len(self.events) < count:
            left = deadline - time.time()
            if left <= 0:
                raise e2e.TestFailure("expected %d events, got %d (%d resumes)" %
                                      (count, len(self.events), self.resumes))
            event = self.watcher.next_event(left)
            if event is None:  # ended by the server: resume where it stopped
                self.watcher.kill()
                self.resumes += 1
                e2e.check(self.resumes <= 50, "the healthy watcher had to resume more than 50 times")
                since = self.events[-1]["sequence"] if self.events else 0
                self.watcher = self.sb.watch("--since", str(since), *self.filters)
                continue
            self.events.append(event)
        return self.events

    def kill(self):
        self.watcher.kill()


def part_stalled_watcher(args, work):
    users = [("user%d" % k, e2e.random_password()) for k in range(1, 1001)]
    server = api.ApiServer(args.binary, work, realms=[e2e.realm_yaml(REALM, users)],
                           events="  watcher_buffer: 8\n", name="stall").start()
    sb = api.Sbctl(args.sbctl, server)
    sb.wait_serving()
    grpc, pb, pb_grpc = api.load_stubs(args.gen_dir)

    # No BDP probing: the client's HTTP/2 window stays at 64 KiB, so the
    # server's writes block once that much is unread.
    channel = grpc.insecure_channel(server.grpc_address, options=[("grpc.http2.bdp_probe", 0)])
    stub = pb_grpc.RegistrationServiceStub(channel)
    # since_sequence 0: both watchers get every event however late they attach.
    stalled = stub.WatchRegistrations(
        pb.WatchRegistrationsRequest(realm="realms/" + REALM, since_sequence=0),
        metadata=(("authorization", "Bearer " + server.read_token),))
    # The healthy watcher is a well-behaved client: with a buffer of 8 even it
    # may fall behind on a busy machine; then it resumes from its last
    # sequence, as docs/api.md tells clients to, and must still see every
    # registration exactly once.
    healthy = ResumingWatcher(sb, "--realm", REALM, "--type", "registered")

    csv = os.path.join(work, "users.csv")
    e2e.write_users_csv(csv, users)
    ok, failed, _, rc = e2e.run_sipp(work, server.udp_port, REALM, csv, len(users), rate=250)
    e2e.log("sipp: %d successful, %d failed, exit %d" % (ok, failed, rc))
    e2e.check(ok == len(users) and failed == 0 and rc == 0,
              "registrations did not all succeed with a stalled watcher: %d ok, %d failed" %
              (ok, failed))
    got = healthy.events_until(len(users), 30)
    e2e.log("healthy watcher: %d events, %d resumes" % (len(got), healthy.resumes))
    seqs = [e["sequence"] for e in got]
    e2e.check(all(a < b for a, b in zip(seqs, seqs[1:])),
              "the healthy watcher saw a sequence twice or out of order across resumes")
    e2e.check(len({e["binding"]["aor"] for e in got}) == len(users),
              "the healthy watcher missed registrations")
    healthy.kill()

    # Now read the stalled stream: what was buffered, then RESOURCE_EXHAUSTED.
    received, code, details = 0, None, ""
    result = {}

    def drain():
        nonlocal received
        try:
            for _ in stalled:
                received += 1
        except grpc.RpcError as exc:
            result["code"], result["details"] = exc.code(), exc.details()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    reader.join(30)
    e2e.check(not reader.is_alive(), "the stalled stream was never ended (read %d events)" %
              received)
    code, details = result.get("code"), result.get("details", "")
    e2e.log("stalled watcher: %d events, then %s: %s" % (received, code, details))
    e2e.check(code == grpc.StatusCode.RESOURCE_EXHAUSTED,
              "the stalled watcher ended with %s (%s), expected RESOURCE_EXHAUSTED" %
              (code, details))
    e2e.check(received < len(users), "the stalled watcher received all %d events" % received)
    channel.close()
    e2e.check(sb.ok("health").strip() == "SERVING", "not SERVING after the stall")
    e2e.check(server.stop() == 0, "unclean stop")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--sbctl", required=True)
    ap.add_argument("--gen-dir", required=True)
    ap.add_argument("--part", choices=["lifecycle", "trim", "stall"], action="append",
                    help="run only these parts (default: all)")
    args = ap.parse_args()
    parts = args.part or ["lifecycle", "trim", "stall"]

    def test():
        if "lifecycle" in parts:
            part_lifecycle_resume_restart(args, e2e.temp_dir("api-events-lifecycle"))
        if "trim" in parts:
            part_out_of_range(args, e2e.temp_dir("api-events-trim"))
        if "stall" in parts:
            part_stalled_watcher(args, e2e.temp_dir("api-events-stall"))

    e2e.main_wrapper(test)


if __name__ == "__main__":
    main()
