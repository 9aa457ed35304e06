#!/usr/bin/env python3
"""baresip (Debian) registers against the real switchboard binary with the
account line the demo prints, over UDP and TCP: it logs "200 OK" for its
REGISTER, the server holds its binding while it runs (checked with an
authenticated REGISTER without Contact), and when baresip is stopped with
SIGTERM it unregisters (the binding is gone). With a wrong password (from
127.0.0.2) it never gets a 200, its retries run into the failed-auth throttle
(403), nothing is bound, and the right user at 127.0.0.1 still registers.

baresip 1.0.0 quirks: it answers only the first challenge header and only
with MD5 (anything else: "Register: Function not implemented"), so the realm
offers MD5; its sip_listen must not collide with the server's port; stop it
with one SIGTERM to its PID so it unregisters.

usage: baresip_test.py --binary build/bin/switchboard
"""
import argparse
import os
import signal
import subprocess
import time

import switchboard_e2e as e2e

REALM = "baresip.switchboard.test"


class Baresip:
    def __init__(self, work, name, account_line, host=e2e.HOST):
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        self.port = e2e.free_udp_tcp_port()  # it listens on both UDP and TCP at sip_listen
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write("poll_method\tepoll\n"
                    "sip_listen\t%s:%d\n"
                    "module_path\t/usr/lib/baresip/modules\n"
                    "module_app\taccount.so\n" % (host, self.port))
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(account_line + "\n")
        self.log_path = os.path.join(self.dir, "baresip.log")
        self.log = open(self.log_path, "wb")
        # -n: the local address (its Via and Contact); any 127/8 address works.
        self.proc = subprocess.Popen(["baresip", "-n", host, "-f", self.dir],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, preexec_fn=e2e.die_with_parent)

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_for(self, patterns, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            t = self.text()
            for p in patterns:
                if p in t:
                    return p
            if self.proc.poll() is not None:
                return None
            time.sleep(0.1)
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # once: it unregisters, then exits
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def account(user, password, port, transport):
    outbound = "sip:%s:%d" % (e2e.HOST, port)
    if transport == "tcp":
        outbound += ";transport=tcp"
    return '<sip:%s@%s>;auth_pass=%s;outbound="%s";regint=600' % (user, REALM, password, outbound)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()

    def test():
        e2e.require_tool("baresip", "baresip")
        work = e2e.temp_dir("baresip")
        carol, dave = e2e.random_password(), e2e.random_password()
        server = e2e.Server(args.binary, work, e2e.config_yaml(
            os.path.join(work, "data"), [e2e.realm_yaml(REALM, [("carol", carol), ("dave", dave)])]
        )).start()
        uac = e2e.SipUac(server.udp_port)
        clients = []
        try:
            for transport, user, password in (("udp", "carol", carol), ("tcp", "dave", dave)):
                port = server.udp_port if transport == "udp" else server.tcp_port
                ua = Baresip(work, "ua-" + transport, account(user, password, port, transport))
                clients.append(ua)
                got = ua.wait_for(["200 OK", "401 Unauthorized", "403 Forbidden", "failed"], 15)
                e2e.check(got == "200 OK", "baresip over %s did not register (%s):\n%s" %
                          (transport, got, ua.text()[-2000:]))
                bindings = uac.query(user, password, REALM)
                mine = {u: e for u, e in bindings.items() if ":%d" % ua.port in u}
                e2e.check(len(mine) == 1 and 590 <= (list(mine.values())[0] or 0) <= 600,
                          "baresip over %s: expected its binding with about 600 s, got %s" %
                          (transport, bindings))
                e2e.log("baresip over %s registered: %s" % (transport, bindings))
                ua.stop()
                deadline = time.time() + 5
                while uac.query(user, password, REALM) and time.time() < deadline:
                    time.sleep(0.2)
                e2e.check(not uac.query(user, password, REALM),
                          "baresip over %s stopped but its binding remains" % transport)
                e2e.log("baresip over %s unregistered on SIGTERM" % transport)

            # Wrong password, from another address (127.0.0.2): baresip answers
            # every re-challenge at once, so within a second its address hits
            # the failed-auth throttle (403). It never gets a 200, nothing is
            # bound, and carol at 127.0.0.1 still registers meanwhile.
            ua = Baresip(work, "ua-wrong", account("carol", carol + "x", server.udp_port, "udp"),
                         host="127.0.0.2")
            clients.append(ua)
            got = ua.wait_for(["200 OK", "403 Forbidden"], 10)
            e2e.check(got == "403 Forbidden",
                      "baresip with a wrong password: expected a final 403, got %s:\n%s" %
                      (got, ua.text()[-2000:]))
            e2e.check("200 OK" not in ua.text(), "baresip with a wrong password registered")
            e2e.check(not uac.query("carol", carol, REALM), "a wrong password left a binding")
            final, _ = uac.register("carol", carol, REALM, "<sip:carol@127.0.0.1:5999>", expires=60)
            e2e.check(final.status == 200,
                      "carol from 127.0.0.1 during the attack: %s" % final.status_line)
            e2e.log("baresip with a wrong password was refused (throttled); carol at another "
                    "address still registers")
        finally:
            for ua in clients:
                ua.stop()
        uac.close()
        rc = server.stop()
        e2e.check(rc == 0, "switchboard exited %s on SIGTERM" % rc)

    e2e.main_wrapper(test)


if __name__ == "__main__":
    main()
