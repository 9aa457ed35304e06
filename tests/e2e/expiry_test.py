#!/usr/bin/env python3
"""Bindings expire on time in the running server: a binding registered with
Expires: 2 is reaped by the server's expiry timer about 2 s later (the debug
log line "bindings expired"; up to 5 s is accepted on a loaded machine), the
query then lists nothing, and after a restart it does not come back.

usage: expiry_test.py --binary build/bin/switchboard
"""
import argparse
import os
import time

import switchboard_e2e as e2e

REALM = "expiry.switchboard.test"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()

    def test():
        work = e2e.temp_dir("expiry")
        pw = e2e.random_password()
        config = e2e.config_yaml(
            os.path.join(work, "data"),
            [e2e.realm_yaml(REALM, [("erin", pw)], extra={"min_expires": 1})],
            log_level="debug")
        server = e2e.Server(args.binary, work, config).start()
        uac = e2e.SipUac(server.udp_port)
        final, _ = uac.register("erin", pw, REALM, "<sip:erin@127.0.0.1:5999>", expires=2)
        registered = time.time()
        e2e.check(final.status == 200, "REGISTER: %s" % final.status_line)
        e2e.check(list(e2e.contact_bindings(final).values()) == [2],
                  "expected one binding with expires=2: %s" % e2e.contact_bindings(final))

        expired_at = None
        while time.time() < registered + 6 and expired_at is None:
            if any(e.get("msg") == "bindings expired" for e in server.log_lines()):
                expired_at = time.time()
            time.sleep(0.05)
        e2e.check(expired_at is not None, "the server never reaped the binding")
        delay = expired_at - registered
        e2e.log("reaped %.2f s after the 200" % delay)
        e2e.check(1.9 <= delay <= 5.0, "reaped after %.2f s, expected about 2 s" % delay)
        e2e.check(uac.query("erin", pw, REALM) == {}, "the expired binding is still listed")
        uac.close()
        e2e.check(server.stop() == 0, "unclean stop")

        server.start()
        uac = e2e.SipUac(server.udp_port)
        e2e.check(uac.query("erin", pw, REALM) == {}, "the expired binding came back after restart")
        uac.close()
        e2e.check(server.stop() == 0, "unclean stop")

    e2e.main_wrapper(test)


if __name__ == "__main__":
    main()
