#!/usr/bin/env python3
"""sipsak (Debian) registers against the real switchboard binary: the right
password gets 200 (exit 0) and the binding is there; a wrong password and an
unknown user fail (non-zero exit) and leave no binding. Over UDP and TCP.

sipsak 0.9.8.1 quirks: -p (the outbound proxy: where the request goes) must
come BEFORE -s, else it tries to resolve the realm in -s; it answers only the
first challenge header and only with MD5, so the realm offers MD5.

usage: sipsak_test.py --binary build/bin/switchboard
"""
import argparse
import os
import subprocess

import switchboard_e2e as e2e

REALM = "sipsak.switchboard.test"


def sipsak(proxy_port, user, password, contact, transport="udp", expires=600):
    cmd = ["sipsak", "-p", "%s:%d" % (e2e.HOST, proxy_port), "-U", "-s",
           "sip:%s@%s" % (user, REALM), "-C", contact, "-a", password, "-u", user,
           "-x", str(expires), "-i", "-vv"]
    if transport == "tcp":
        cmd += ["-E", "tcp"]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    out = r.stdout.decode(errors="replace")
    e2e.log("sipsak %s %s -> exit %d" % (transport, user, r.returncode))
    return r.returncode, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()

    def test():
        e2e.require_tool("sipsak", "sipsak")
        work = e2e.temp_dir("sipsak")
        alice, bob = e2e.random_password(), e2e.random_password()
        users = [("alice", alice), ("bob", bob)]
        server = e2e.Server(args.binary, work, e2e.config_yaml(
            os.path.join(work, "data"), [e2e.realm_yaml(REALM, users)])).start()
        uac = e2e.SipUac(server.udp_port)

        # Right password over UDP: exit 0 and the binding exists with its expiry.
        contact = "sip:alice@127.0.0.1:5070"
        rc, out = sipsak(server.udp_port, "alice", alice, contact)
        e2e.check(rc == 0, "sipsak with the right password exited %d:\n%s" % (rc, out[-2000:]))
        bindings = uac.query("alice", alice, REALM)
        e2e.check(contact in bindings and 590 <= (bindings[contact] or 0) <= 600,
                  "expected %s with about 600 s, got %s" % (contact, bindings))

        # Wrong password: non-zero exit, nothing bound.
        rc, out = sipsak(server.udp_port, "alice", alice + "x", "sip:alice@127.0.0.1:5071")
        e2e.check(rc != 0, "sipsak with a wrong password exited 0:\n%s" % out[-2000:])
        e2e.check(" 200 " not in out, "a wrong password got a 200:\n%s" % out[-2000:])
        bindings = uac.query("alice", alice, REALM)
        e2e.check(list(bindings) == [contact],
                  "a wrong password changed the bindings: %s" % bindings)

        # Unknown user: fails the same way.
        rc, out = sipsak(server.udp_port, "mallory", "whatever", "sip:mallory@127.0.0.1:5072")
        e2e.check(rc != 0, "sipsak for an unknown user exited 0:\n%s" % out[-2000:])

        # Over TCP: right password registers (the binding lives as long as
        # sipsak's connection, so only the exit status is checked), wrong fails.
        rc, out = sipsak(server.tcp_port, "bob", bob, "sip:bob@127.0.0.1:5073;transport=tcp", "tcp")
        e2e.check(rc == 0, "sipsak over TCP with the right password exited %d:\n%s" %
                  (rc, out[-2000:]))
        rc, out = sipsak(server.tcp_port, "bob", "nope" + bob, "sip:bob@127.0.0.1:5074;transport=tcp",
                         "tcp")
        e2e.check(rc != 0, "sipsak over TCP with a wrong password exited 0:\n%s" % out[-2000:])

        # Passwords never reach the log.
        text = server.log_text()
        for secret in (alice, bob):
            e2e.check(secret not in text, "a password appears in the server log")
        uac.close()
        rc = server.stop()
        e2e.check(rc == 0, "switchboard exited %s on SIGTERM" % rc)

    e2e.main_wrapper(test)


if __name__ == "__main__":
    main()
