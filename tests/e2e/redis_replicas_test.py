#!/usr/bin/env python3
"""Two switchboard replicas on one Redis behave as one registrar
(docs/scale-out.md): a redis-server of the test's own (free port, AOF,
stopped by PID) and replicas "a" and "b" — own SIP/gRPC/metrics ports and data
directories, the same Redis and prefix, the same realm, users, nonce secret,
API tokens and replica token.

  a. sipp registers 50 users through A (REGISTER -> 401 -> REGISTER -> 200, all
     must succeed). `sbctl binding list` against B lists exactly those 50 AORs,
     each with replica "a" and sipp's contact; a contact-less REGISTER (query)
     to B answers one of them with sipp's contact.
  b. `sbctl watch --since 0` on A and on B deliver the same (sequence, type,
     aor, contact, replica) list: 1..50, all REGISTERED. A REGISTER of a new
     user through B then reaches both watchers as sequence 51, REGISTERED,
     replica "b".
  c. A challenge from A answered at B: the 401's nonce (nc=1) used in the
     authorized REGISTER sent to B gets 200 OK, and the binding is listed
     through A with replica "b".
  d. An unregister (Expires: 0) through B of a binding registered through A:
     200 without that contact; A's ListBindings no longer has it, and A's
     watcher sees UNREGISTERED with the next sequence.
  e. kill -9 of A: a REGISTER through B still gets 200, and B still lists A's
     bindings with replica "a" (they live in Redis, not in A).

usage: redis_replicas_test.py --binary build/bin/switchboard --sbctl build/bin/sbctl
"""
import argparse
import os
import re
import secrets
import socket
import time

import api_e2e as api
import switchboard_e2e as e2e
from redis_store_test import RedisServer

REALM = "replicas.switchboard.test"
PREFIX = "sbrep:"
N = 50


class Replica(e2e.Server):
    """switchboard as one replica on Redis, with the gRPC API on a free port
    and the shared admin token (what api_e2e.Sbctl needs)."""

    def __init__(self, binary, work, name, redis, users, shared):
        self.grpc_port = e2e.free_port(socket.SOCK_STREAM)
        self.admin_token = shared["admin_token"]
        self.read_token = shared["admin_token"]
        self.replica_id = name
        extra = "api:\n  tokens:\n    - {name: e2e-admin, role: admin, sha256: %s}\n" % (
            e2e.yaml_str(shared["admin_sha"]))
        extra += "metrics:\n  listen: \"127.0.0.1:0\"\n"
        extra += "store:\n  kind: redis\n  url: %s\n  prefix: %s\n" % (
            e2e.yaml_str(redis.url()), e2e.yaml_str(PREFIX))
        extra += "replica:\n  id: %s\n  advertise: %s\n  token: %s\n" % (
            name, e2e.yaml_str(self.grpc_address), e2e.yaml_str(shared["replica_token"]))
        config = e2e.config_yaml(os.path.join(work, "data-" + name),
                                 [e2e.realm_yaml(REALM, users)], extra=extra,
                                 grpc_listen=self.grpc_address)
        # One nonce secret for both: a nonce issued by A must verify at B.
        config, count = re.subn(r"nonce:\n  secret: .*\n",
                                "nonce:\n  secret: %s\n" % e2e.yaml_str(shared["nonce_secret"]),
                                config)
        e2e.check(count == 1, "config_yaml wrote no nonce secret to replace")
        super().__init__(binary, work, config, name="switchboard-" + name)

    @property
    def grpc_address(self):
        return "%s:%d" % (e2e.HOST, self.grpc_port)


def aor(user):
    return "sip:%s@%s" % (user, REALM)


def list_bindings(sb, **kw):
    """Every binding of REALM as listed through sb's server: [binding dict]."""
    return sb.json("binding", "list", "--realm", REALM, **kw).get("bindings", [])


def wait_for(what, predicate, timeout=5.0, interval=0.05):
    """Polls predicate() (which returns (ok, detail)) until ok; fails with the
    last detail after `timeout` s. The replicas follow the event stream within
    milliseconds; a few seconds is a generous bound on a loaded machine."""
    deadline = time.time() + timeout
    started = time.time()
    while True:
        ok, detail = predicate()
        if ok:
            return time.time() - started
        if time.time() > deadline:
            raise e2e.TestFailure("%s: not within %.0f s: %s" % (what, timeout, detail))
        time.sleep(interval)


def essence(event):
    b = event.get("binding", {})
    return (event["sequence"], event["type"], b.get("aor"), b.get("contact"), b.get("replica"))


def send_register(uac, port, user, call_id, cseq, contact, expires, auth=None):
    """One REGISTER transaction to 127.0.0.1:port from uac's socket (the
    device stays on one address; only the replica it reaches changes)."""
    uac.server = (e2e.HOST, port)
    data, branch = uac._request(user, REALM, call_id, cseq, contact, expires, auth)
    return uac.transact(data, branch)


def authorization(challenge_response, user, password):
    e2e.check(challenge_response.status == 401,
              "expected a 401 challenge, got %s" % challenge_response.status_line)
    challenge = e2e.pick_challenge(challenge_response, ("MD5",))
    return "Authorization: " + e2e.digest_authorization(challenge, "REGISTER", "sip:" + REALM,
                                                       user, password, nc=1)


def register_via(uac, port, user, password, contact, expires=3600):
    """The full 2-step REGISTER against one replica: the final response."""
    call_id = secrets.token_hex(10) + "@replicas"
    first = send_register(uac, port, user, call_id, 1, contact, expires)
    auth = authorization(first, user, password)
    return send_register(uac, port, user, call_id, 2, contact, expires, auth)


def run(args):
    work = e2e.temp_dir("redis-replicas")
    users = [("user%d" % k, e2e.random_password()) for k in range(1, N + 1)]
    extra_users = [(u, e2e.random_password()) for u in ("live", "mover", "survivor")]
    password = dict(users + extra_users)
    csv = os.path.join(work, "users.csv")
    e2e.write_users_csv(csv, users)
    admin_token, admin_sha = api.new_token()
    shared = {"admin_token": admin_token, "admin_sha": admin_sha,
              "nonce_secret": secrets.token_urlsafe(32),
              "replica_token": secrets.token_urlsafe(32)}

    redis = RedisServer(work).start()
    watchers = []
    try:
        a = Replica(args.binary, work, "a", redis, users + extra_users, shared).start()
        b = Replica(args.binary, work, "b", redis, users + extra_users, shared).start()
        sb_a, sb_b = api.Sbctl(args.sbctl, a), api.Sbctl(args.sbctl, b)
        sb_a.wait_serving()
        sb_b.wait_serving()
        e2e.check(a.udp_port != b.udp_port, "both replicas on one SIP port")

        # ---- a. 50 users through A, listed through B --------------------------------
        ok, failed, sipp_port, rc = e2e.run_sipp(work, a.udp_port, REALM, csv, N, rate=50)
        e2e.check(ok == N and failed == 0 and rc == 0,
                  "sipp through A: %d successful, %d failed, exit %d (want %d, 0, 0)" %
                  (ok, failed, rc, N))
        want_aors = {aor(u) for u, _ in users}
        listed = {}

        def b_lists_all():
            listed.clear()
            listed.update((x["aor"], x) for x in list_bindings(sb_b))
            return set(listed) == want_aors, "B lists %d AORs: missing %s, extra %s" % (
                len(listed), sorted(want_aors - set(listed))[:5],
                sorted(set(listed) - want_aors)[:5])

        took = wait_for("B lists the 50 AORs registered through A", b_lists_all)
        bindings_b = list_bindings(sb_b)
        e2e.check(len(bindings_b) == N, "B lists %d bindings, expected %d (one per AOR)" %
                  (len(bindings_b), N))
        wrong = [(x["aor"], x.get("replica"), x["contact"]) for x in bindings_b
                 if x.get("replica") != "a" or not x["contact"].startswith("sip:%s@%s:%d;" % (
                     x["aor"][len("sip:"):].split("@")[0], e2e.HOST, sipp_port))]
        e2e.check(not wrong, "bindings listed through B without replica \"a\" or sipp's contact "
                  "(aor, replica, contact): %s" % wrong[:5])
        uac = e2e.SipUac(b.udp_port)
        seen = uac.query("user7", password["user7"], REALM)
        e2e.check(list(seen) == ["sip:user7@%s:%d;transport=UDP" % (e2e.HOST, sipp_port)],
                  "a query REGISTER for user7 at B answered %s" % seen)
        e2e.log("a. 50 users registered through A (sipp); B lists exactly those 50 AORs, each "
                "with replica \"a\" (%.2f s after sipp ended); B's registrar answers a query "
                "with A's binding" % took)

        # ---- b. the event stream, identical through A and B; a live event made at B --
        watch_a = sb_a.watch("--since", "0", "--realm", REALM)
        watch_b = sb_b.watch("--since", "0", "--realm", REALM)
        watchers += [watch_a, watch_b]
        events_a = watch_a.events_until(N, 20)
        events_b = watch_b.events_until(N, 20)
        watch_a.no_event_for(0.5)
        watch_b.no_event_for(0.1)
        e2e.check([e["sequence"] for e in events_a] == list(range(1, N + 1)),
                  "A's watcher: sequences %s, expected 1..%d" %
                  ([e["sequence"] for e in events_a], N))
        e2e.check([essence(e) for e in events_a] == [essence(e) for e in events_b],
                  "the watchers differ:\n A: %s\n B: %s" % (api.summary(events_a),
                                                            api.summary(events_b)))
        e2e.check(all(e["type"] == "REGISTERED" and e["binding"].get("replica") == "a"
                      for e in events_a), "not all REGISTERED by replica a: %s" %
                  [essence(e) for e in events_a if e["type"] != "REGISTERED" or
                   e["binding"].get("replica") != "a"][:5])
        e2e.check({e["binding"]["aor"] for e in events_a} == want_aors,
                  "the events' AORs are not the 50 users'")
        e2e.log("b. watch --since 0 on A and on B: the same %d events (#1..#%d REGISTERED, "
                "replica a)" % (N, N))

        live_contact = "<sip:live@%s:%d>" % (e2e.HOST, uac.port)
        final = register_via(uac, b.udp_port, "live", password["live"], live_contact)
        e2e.check(final.status == 200, "REGISTER of live through B: %s" % final.status_line)
        t0 = time.time()
        live_a = watch_a.next_event(5)
        latency = time.time() - t0
        live_b = watch_b.next_event(5)
        want = (N + 1, "REGISTERED", aor("live"), "sip:live@%s:%d" % (e2e.HOST, uac.port), "b")
        e2e.check(live_a is not None and essence(live_a) == want,
                  "A's watcher after a REGISTER through B: %s, expected %s" %
                  (live_a and essence(live_a), want))
        e2e.check(live_b is not None and essence(live_b) == want,
                  "B's watcher after a REGISTER through B: %s, expected %s" %
                  (live_b and essence(live_b), want))
        e2e.log("b. a REGISTER through B reached A's watcher as #%d REGISTERED replica b "
                "(%.0f ms after B's 200 was read)" % (live_a["sequence"], latency * 1000))

        # ---- c. challenge from A answered at B -----------------------------------------
        mover = e2e.SipUac(a.udp_port)
        mover_contact = "<sip:mover@%s:%d>" % (e2e.HOST, mover.port)
        call_id = secrets.token_hex(10) + "@replicas"
        challenge = send_register(mover, a.udp_port, "mover", call_id, 1, mover_contact, 3600)
        auth = authorization(challenge, "mover", password["mover"])
        nonce = e2e.parse_auth_params(e2e.pick_challenge(challenge, ("MD5",)))[1]["nonce"]
        final = send_register(mover, b.udp_port, "mover", call_id, 2, mover_contact, 3600, auth)
        e2e.check(final.status == 200, "the authorized REGISTER (A's nonce, nc=1) at B: %s" %
                  final.status_line)
        e2e.check(list(e2e.contact_bindings(final)) == ["sip:mover@%s:%d" % (e2e.HOST, mover.port)],
                  "B's 200 lists %s" % e2e.contact_bindings(final))
        mover_at_a = []

        def a_lists_mover():
            mover_at_a[:] = sb_a.json("binding", "list", "--aor", aor("mover")).get("bindings", [])
            return len(mover_at_a) == 1, mover_at_a

        wait_for("A lists the binding registered through B", a_lists_mover)
        e2e.check(mover_at_a[0].get("replica") == "b" and
                  mover_at_a[0]["contact"] == "sip:mover@%s:%d" % (e2e.HOST, mover.port),
                  "the binding of mover listed through A: %s" % mover_at_a[0])
        event_a, event_b = watch_a.next_event(5), watch_b.next_event(5)
        e2e.check(essence(event_a) == essence(event_b) == (
            N + 2, "REGISTERED", aor("mover"), "sip:mover@%s:%d" % (e2e.HOST, mover.port), "b"),
            "the watchers after mover's REGISTER: A %s, B %s" % (essence(event_a),
                                                                 essence(event_b)))
        e2e.log("c. A's challenge (nonce %s…) answered at B with nc=1: 200; A lists the binding "
                "with replica b" % nonce[:12])

        # ---- d. unregister through B of a binding registered through A ------------------
        victim = "user1"
        contact = listed[aor(victim)]["contact"]
        final = register_via(uac, b.udp_port, victim, password[victim], "<%s>" % contact,
                             expires=0)
        e2e.check(final.status == 200 and not e2e.contact_bindings(final),
                  "Expires: 0 for %s through B: %s, contacts %s" %
                  (contact, final.status_line, e2e.contact_bindings(final)))

        def a_lost_victim():
            aors = {x["aor"] for x in list_bindings(sb_a)}
            return aor(victim) not in aors and len(aors) == N + 1, "A lists %d AORs%s" % (
                len(aors), " with " + victim if aor(victim) in aors else "")

        wait_for("A's ListBindings without %s" % victim, a_lost_victim)
        e2e.check(sb_a.json("binding", "list", "--aor", aor(victim)).get("bindings", []) == [],
                  "A still lists a binding of %s" % victim)
        event_a, event_b = watch_a.next_event(5), watch_b.next_event(5)
        e2e.check(essence(event_a) == essence(event_b) and event_a["sequence"] == N + 3 and
                  event_a["type"] == "UNREGISTERED" and event_a["binding"]["aor"] == aor(victim)
                  and event_a["binding"]["contact"] == contact,
                  "the watchers after the unregister: A %s, B %s" % (essence(event_a),
                                                                     essence(event_b)))
        e2e.log("d. %s (registered through A) unregistered through B: gone from A's list; "
                "#%d UNREGISTERED on both watchers" % (victim, event_a["sequence"]))

        # ---- e. kill -9 A: B keeps serving ---------------------------------------------
        watch_a.kill()
        a.kill()
        e2e.log("e. replica a (pid %d) killed with SIGKILL" % a.proc.pid)
        survivor_contact = "<sip:survivor@%s:%d>" % (e2e.HOST, uac.port)
        final = register_via(uac, b.udp_port, "survivor", password["survivor"], survivor_contact)
        e2e.check(final.status == 200, "REGISTER through B after A died: %s" % final.status_line)
        event_b = watch_b.next_event(5)
        e2e.check(essence(event_b)[:3] == (N + 4, "REGISTERED", aor("survivor")),
                  "B's watcher after A died: %s" % (essence(event_b),))
        after = {x["aor"]: x for x in list_bindings(sb_b)}
        from_a = {k for k, x in after.items() if x.get("replica") == "a"}
        e2e.check(from_a == want_aors - {aor(victim)},
                  "B lists %d bindings of replica a after A died, expected the %d left: "
                  "missing %s" % (len(from_a), N - 1, sorted(want_aors - {aor(victim)} - from_a)[:5]))
        e2e.check(set(after) == (want_aors - {aor(victim)}) |
                  {aor("live"), aor("mover"), aor("survivor")},
                  "B's list after A died: %d AORs %s" % (len(after), sorted(after)[:5]))
        seen = uac.query("user2", password["user2"], REALM)
        e2e.check(list(seen) == ["sip:user2@%s:%d;transport=UDP" % (e2e.HOST, sipp_port)],
                  "a query for user2 (registered through A) at B after A died: %s" % seen)
        # The bindings are in Redis, not only in B's cache.
        r = redis.client()
        keys = r.scan(PREFIX + "aor:*")
        r.close()
        want_keys = {("%saor:%s" % (PREFIX, k[len("sip:"):])).encode() for k in after}
        e2e.check(keys == want_keys, "Redis holds %d %saor:* keys, B lists %d AORs: extra %s, "
                  "missing %s" % (len(keys), PREFIX, len(after), sorted(keys - want_keys)[:3],
                                  sorted(want_keys - keys)[:3]))
        e2e.log("e. after kill -9 of A: B answers REGISTER 200 (#%d) and lists A's %d bindings "
                "(replica a), as Redis holds them" % (event_b["sequence"], len(from_a)))
        uac.close()
        mover.close()
        watch_b.kill()
        rc = b.stop()
        e2e.check(rc == 0, "replica b exited %s on SIGTERM" % rc)
    finally:
        for w in watchers:
            w.kill()
        redis.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--sbctl", required=True)
    args = ap.parse_args()
    e2e.main_wrapper(lambda: run(args))


if __name__ == "__main__":
    main()
