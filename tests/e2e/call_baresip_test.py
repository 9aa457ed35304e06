#!/usr/bin/env python3
"""A real softphone takes a call from the API: baresip (Debian, 1.0.0)
registers over UDP with ;answermode=auto, `sbctl call create --wait
answered` rings it, baresip answers by itself (ANSWERED event and returned
call with baresip's SDP answer; its SIP trace shows the 200 it sent and the
ACK it received), then `sbctl call hangup` sends the BYE: baresip logs the
session closed, its trace shows the BYE, the call ends HANGUP_API. Then the
same again over TCP (the INVITE goes down the connection baresip registered
on).

Headless baresip 1.0.0: no sound card here, so audio goes through the
aubridge module (player and source bridged in memory, device "nil"); g711
for PCMU/PCMA; menu.so prints the call progress ("Call established",
"session closed"); -s traces SIP into the log. It answers only MD5
challenges: the realm offers MD5. Stop it with one SIGTERM to its PID.

usage: call_baresip_test.py --binary build/bin/switchboard --sbctl build/bin/sbctl
"""
import argparse
import os
import re
import signal
import subprocess
import time

import api_e2e as api
import call_e2e as calls
import switchboard_e2e as e2e

REALM = "baresip-calls.e2e.test"


class Baresip:
    def __init__(self, work, name, account_line, transport):
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        self.port = e2e.free_udp_tcp_port()  # it listens on both at sip_listen
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write("poll_method\tepoll\n"
                    "sip_listen\t%s:%d\n"
                    "module_path\t/usr/lib/baresip/modules\n"
                    "module\tg711.so\n"
                    "module\taubridge.so\n"
                    "audio_player\taubridge,nil\n"
                    "audio_source\taubridge,nil\n"
                    "audio_alert\taubridge,nil\n"
                    "module_app\taccount.so\n"
                    "module_app\tmenu.so\n" % (e2e.HOST, self.port))
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(account_line + "\n")
        self.log_path = os.path.join(self.dir, "baresip.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["baresip", "-s", "-n", e2e.HOST, "-f", self.dir],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, preexec_fn=e2e.die_with_parent)
        e2e.log("baresip pid %d on %s port %d" % (self.proc.pid, transport, self.port))

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_for(self, pattern, timeout):
        """Waits until the log matches the regular expression `pattern`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if re.search(pattern, self.text(), re.M):
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.1)
        return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # once: it unregisters, then exits
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def one_call(sb, watcher, server, work, user, password, transport):
    port = server.udp_port if transport == "udp" else server.tcp_port
    outbound = "sip:%s:%d" % (e2e.HOST, port) + (";transport=tcp" if transport == "tcp" else "")
    account = ('<sip:%s@%s>;auth_pass=%s;outbound="%s";regint=600;answermode=auto' %
               (user, REALM, password, outbound))
    ua = Baresip(work, "baresip-" + transport, account, transport)
    try:
        binding = wait_binding_any_port(sb, user)
        e2e.log("baresip over %s registered: %s via %s" % (transport, binding["contact"],
                                                          binding["source_address"]))
        offer = calls.write_file(work, "offer.sdp", calls.SDP_OFFER)
        args = ["--json", "call", "create", "--to", "sip:%s@%s" % (user, REALM),
                "--sip-auth-username", user, "--sip-auth-password-stdin", "--sdp", offer,
                "--wait", "answered", "--from-name", "E2E baresip"]
        rc, out, err = sb.run(*args, stdin=password + "\n", timeout=60)
        e2e.check(rc == 0, "call create (%s) exited %d:\n%s%s\nbaresip log:\n%s" %
                  (transport, rc, out, err, ua.text()[-3000:]))
        call = calls.parse_json(out, "call create")
        name = call["name"]
        e2e.check(call.get("state") == "ANSWERED", "call create returned %s" % call)
        e2e.check("m=audio" in call.get("remote_sdp", "") and
                  re.search(r"PCM[UA]/8000", call.get("remote_sdp", "")),
                  "baresip's SDP answer is not in the call: %r" % call.get("remote_sdp"))
        ans = watcher.wait_for(name, "ANSWERED", 10)
        e2e.check(":%d" % ua.port in ans["call"].get("answered_contact", ""),
                  "answered_contact: %s" % ans["call"].get("answered_contact"))
        e2e.check(ua.wait_for(r"Call established", 5),
                  "baresip did not log the call established:\n%s" % ua.text()[-3000:])
        # Its own SIP trace: the 200 it sent and the ACK it received.
        e2e.check(ua.wait_for(r"^SIP/2\.0 200 ", 1) and ua.wait_for(r"^ACK sip:", 5),
                  "baresip's trace lacks the 200/ACK:\n%s" % ua.text()[-4000:])
        time.sleep(1)
        sb.ok("call", "hangup", calls.call_id(call))
        end = watcher.wait_for(name, "ENDED", 10)
        e2e.check(end["call"].get("end_reason") == "HANGUP_API", "ENDED: %s" % end["call"])
        e2e.check(ua.wait_for(r"^BYE sip:", 5) and ua.wait_for(r"session closed", 5),
                  "baresip did not log the BYE / session closed:\n%s" % ua.text()[-4000:])
        e2e.log("baresip over %s: answered by itself, %s; BYE reached it" %
                (transport, calls.summary(watcher.call_events(name))))
    finally:
        ua.stop()


def wait_binding_any_port(sb, user, timeout=15):
    aor = "sip:%s@%s" % (user, REALM)
    deadline = time.time() + timeout
    while True:
        bindings = sb.json("binding", "list", "--aor", aor).get("bindings", [])
        if bindings:
            return bindings[0]
        if time.time() > deadline:
            raise e2e.TestFailure("baresip did not register %s within %d s" % (aor, timeout))
        time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--sbctl", required=True)
    args = ap.parse_args()

    def test():
        e2e.require_tool("baresip", "baresip")
        work = e2e.temp_dir("call-baresip")
        server = api.ApiServer(args.binary, work, name="calls").start()
        sb = api.Sbctl(args.sbctl, server)
        sb.wait_serving()
        sb.ok("realm", "create", REALM, "--algorithms", "MD5")
        with calls.call_watch(sb, "--realm", REALM) as watcher:
            for transport, user in (("udp", "carol"), ("tcp", "dave")):
                password = e2e.random_password()
                sb.ok("credential", "create", REALM, user, "--password-stdin",
                      stdin=password + "\n")
                one_call(sb, watcher, server, work, user, password, transport)
        rc = server.stop()
        e2e.check(rc == 0, "switchboard exited %s on SIGTERM" % rc)

    e2e.main_wrapper(test)


if __name__ == "__main__":
    main()
