#!/usr/bin/env python3
"""sipp drives the 2-step authenticated REGISTER (REGISTER -> 401 -> REGISTER
with Authorization -> 200) for 1,000 users from an injection CSV against the
real switchboard binary, over UDP or TCP, and every flow must succeed.

Checks: sipp's -trace_stat shows SuccessfulCall == 1000 and FailedCall == 0
(and sipp exits 0); then the server's side: over UDP a sample of users has
exactly the binding sipp registered (queried with an authenticated REGISTER
without Contact); over TCP the bindings are dropped once sipp's connection
closes (they cannot be reached any more). Finally SIGTERM stops the server
with exit status 0.

usage: sipp_register_test.py --binary build/bin/switchboard --transport udp|tcp [--users 1000]
"""
import argparse
import os
import random
import time

import switchboard_e2e as e2e

REALM = "e2e.switchboard.test"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=250)
    args = ap.parse_args()

    def test():
        work = e2e.temp_dir("sipp-" + args.transport)
        users = [("user%d" % k, e2e.random_password()) for k in range(1, args.users + 1)]
        csv = os.path.join(work, "users.csv")
        e2e.write_users_csv(csv, users)
        # debug over TCP: the "connection bindings removed" line proves the hook.
        config = e2e.config_yaml(os.path.join(work, "data"), [e2e.realm_yaml(REALM, users)],
                                 log_level="debug" if args.transport == "tcp" else "info")
        server = e2e.Server(args.binary, work, config).start()

        port = server.udp_port if args.transport == "udp" else server.tcp_port
        mode = "u1" if args.transport == "udp" else "t1"
        ok, failed, sipp_port, rc = e2e.run_sipp(work, port, REALM, csv, args.users,
                                                 transport=mode, rate=args.rate)
        e2e.log("sipp: %d successful, %d failed" % (ok, failed))
        e2e.check(ok == args.users and failed == 0,
                  "expected %d successful and 0 failed flows, got %d and %d" %
                  (args.users, ok, failed))
        e2e.check(rc == 0, "sipp exited %d" % rc)

        uac = e2e.SipUac(server.udp_port)
        sample = random.sample(users, min(20, len(users)))
        if args.transport == "udp":
            for user, password in sample:
                bindings = uac.query(user, password, REALM)
                want = "sip:%s@%s:%d" % (user, e2e.HOST, sipp_port)
                e2e.check(len(bindings) == 1 and list(bindings)[0].startswith(want),
                          "%s: expected one binding %s..., got %s" % (user, want, bindings))
                expires = list(bindings.values())[0]
                e2e.check(expires is not None and 3500 <= expires <= 3600,
                          "%s: remaining expires %s, expected about 3600" % (user, expires))
            e2e.log("%d sampled users each have their sipp binding" % len(sample))
        else:
            # sipp closed its connection when it exited: the server drops the
            # bindings that were registered over it (asynchronously; allow 5 s).
            deadline = time.time() + 5
            while True:
                left = {u: uac.query(u, p, REALM) for u, p in sample[:5]}
                if not any(left.values()) or time.time() > deadline:
                    break
                time.sleep(0.2)
            e2e.check(not any(left.values()),
                      "bindings of the closed TCP connection are still there: %s" % left)
            removed = sum(e.get("bindings", 0) for e in server.log_lines()
                          if e.get("msg") == "connection bindings removed")
            e2e.check(removed == args.users,
                      "the server removed %d bindings with the connection, expected %d" %
                      (removed, args.users))
            e2e.log("bindings of the closed TCP connection were dropped")
        uac.close()

        rc = server.stop()
        e2e.check(rc == 0, "switchboard exited %s on SIGTERM" % rc)

    e2e.main_wrapper(test)


if __name__ == "__main__":
    main()
