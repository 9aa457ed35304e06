#!/usr/bin/env python3
"""kill -9 durability: every acknowledged binding survives a crash, and
nothing else appears.

1. sipp registers N users (default 200) over UDP, all flows must succeed.
2. Under load: a Python UAC keeps up to 32 more registrations in flight and
   the server gets SIGKILL while they are on the wire (after the 50th 200).
3. The server restarts on the same data directory. An authenticated
   REGISTER without Contact (RFC 3261 10.2.3) queries every user:
   - each sipp user and each user whose 200 arrived has exactly its binding,
     with a remaining expiry of 3600 s minus the time since it registered
     (within 3 s);
   - users that were never registered have no binding.
   Registrations in flight without a 200 may or may not be there (both are
   correct); they are counted, not asserted.

usage: kill9_durability_test.py --binary build/bin/switchboard [--users 200]
"""
import argparse
import os
import signal
import time

import switchboard_e2e as e2e

REALM = "durable.switchboard.test"
EXPIRES = 3600


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--load-users", type=int, default=200)
    args = ap.parse_args()

    def test():
        work = e2e.temp_dir("kill9")
        n, m = args.users, args.load_users
        users = [("user%d" % k, e2e.random_password()) for k in range(1, n + m + 21)]
        sipp_users, load_users, idle_users = users[:n], users[n:n + m], users[n + m:]
        password = dict(users)
        csv = os.path.join(work, "users.csv")
        e2e.write_users_csv(csv, sipp_users)
        config = e2e.config_yaml(os.path.join(work, "data"), [e2e.realm_yaml(REALM, users)])
        server = e2e.Server(args.binary, work, config)
        server.start()

        # 1. sipp: N acknowledged registrations.
        t_sipp = time.time()
        ok, failed, sipp_port, rc = e2e.run_sipp(work, server.udp_port, REALM, csv, n)
        t_sipp_done = time.time()
        e2e.check(ok == n and failed == 0, "sipp: %d successful, %d failed (want %d, 0)" %
                  (ok, failed, n))

        # 2. More registrations in flight; SIGKILL after the 50th 200.
        load_port = e2e.free_port()
        contact_of = lambda user: "<sip:%s@%s:%d>" % (user, e2e.HOST, load_port)
        pid = server.proc.pid

        def kill_after(count):
            if count >= min(50, m):
                os.kill(pid, signal.SIGKILL)
                return True
            return False

        acked, started = e2e.register_in_flight(server.udp_port, REALM, load_users, contact_of,
                                                expires=EXPIRES, on_ack=kill_after)
        server.proc.wait()
        t_kill = time.time()
        e2e.check(server.proc.returncode == -signal.SIGKILL,
                  "server exit status %s, expected SIGKILL" % server.proc.returncode)
        server.kill()  # bookkeeping only: already dead
        unacked = [u for u in started if u not in acked]
        e2e.log("killed with -9: %d load registrations acknowledged, %d in flight" %
                (len(acked), len(unacked)))

        # 3. Restart on the same data directory and check every user.
        server.start()
        restart = time.time()
        loaded = [e for e in server.log_lines() if e.get("msg") == "bindings loaded"]
        e2e.log("restarted %.1f s after the kill; %s" % (restart - t_kill, loaded))
        uac = e2e.SipUac(server.udp_port)
        missing, wrong = [], []

        def expect(user, contact_prefix, registered_at):
            bindings = uac.query(user, password[user], REALM)
            if not bindings:
                missing.append(user)
                return
            uri, expires = list(bindings.items())[0]
            elapsed = time.time() - registered_at
            if (len(bindings) != 1 or not uri.startswith(contact_prefix) or expires is None or
                    not (EXPIRES - elapsed - 3 <= expires <= EXPIRES)):
                wrong.append((user, bindings, round(elapsed, 1)))

        for user, _ in sipp_users:
            # registered between t_sipp and t_sipp_done: the earliest bound is the safe one
            expect(user, "sip:%s@%s:%d" % (user, e2e.HOST, sipp_port), t_sipp)
        for user, at in acked.items():
            expect(user, "sip:%s@%s:%d" % (user, e2e.HOST, load_port), at)
        e2e.check(not missing, "%d acknowledged bindings lost: %s" % (len(missing), missing[:10]))
        e2e.check(not wrong, "%d bindings differ: %s" % (len(wrong), wrong[:5]))

        survived = sum(1 for u in unacked if uac.query(u, password[u], REALM))
        extra = {u: b for u, _ in idle_users for b in [uac.query(u, password[u], REALM)] if b}
        e2e.check(not extra, "users never registered have bindings: %s" % extra)
        never_sent = [u for u, _ in load_users if u not in started]
        extra = {u: b for u in never_sent for b in [uac.query(u, password[u], REALM)] if b}
        e2e.check(not extra, "users never sent have bindings: %s" % extra)
        e2e.log("all %d acknowledged bindings are back with their expiry; %d of %d unacknowledged "
                "in-flight registrations were committed too" %
                (n + len(acked), survived, len(unacked)))
        uac.close()
        rc = server.stop()
        e2e.check(rc == 0, "switchboard exited %s on SIGTERM" % rc)

    e2e.main_wrapper(test)


if __name__ == "__main__":
    main()
