#!/usr/bin/env python3
"""The call_on_register examples (clients/python/examples/call_on_register.py
and clients/node/examples/call_on_register.js) against the real server and a
real SIP device (sipp).

  call     The example starts first and waits for the AOR to register (the
           test waits until its WatchRegistrations stream is open: the
           switchboard_events_watchers gauge). Then the device registers
           (sipp/reg_expires_any.xml from port P) and plays
           sipp/uas_answer.xml on P: INVITE -> 100 -> 180 -> 200 -> ACK,
           then expects the BYE. The example, run with --hangup-after 1
           --timeout 30, must exit 0 after printing, in this order:
               registered sip:USER@REALM sip:USER@127.0.0.1:P...
               call calls/ID TRYING          (or RINGING, if the 180 won)
               RINGING
               ANSWERED sip:device@127.0.0.1:P...
               ENDED HANGUP_API STATUS (N.Ns)
           and sipp must exit 0 (it got the INVITE, ACK and BYE); `sbctl
           call get` shows the call ENDED HANGUP_API.
  remote   The device (sipp/uas_bye_from_device.xml) answers and hangs up
           itself 1.5 s later; the example, run with --hangup-after 10, must
           print ENDED HANGUP_REMOTE and exit 0 at once (not when its hangup
           timer would have fired) with nothing on stderr, and the device
           must get no BYE.
  quiet    Nothing registers: the example exits 1 after --timeout 2 with
           "nothing within" on stderr.

The example may ring the device before the UAS run has bound port P (the
REGISTER run holds it until its 200): the INVITE's UDP retransmission
reaches the UAS then; the test logs when that happened.

usage: api_call_examples_test.py --binary build/bin/switchboard --sbctl build/bin/sbctl
           --client python --gen-dir build/clients/python/gen
       api_call_examples_test.py --binary build/bin/switchboard --sbctl build/bin/sbctl
           --client node --node-modules build/clients/node/node_modules
"""
import argparse
import os
import re
import time

import api_e2e as api
import call_e2e as calls
import switchboard_e2e as e2e
from api_clients_test import Example, example_env

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
METRICS_ON = "metrics:\n  listen: \"127.0.0.1:0\"\n"


def example_command(args):
    if args.client == "python":
        return ["/usr/bin/python3",
                os.path.join(SOURCE, "clients/python/examples/call_on_register.py")]
    node = e2e.require_tool("node", "nodejs")
    return [node, os.path.join(SOURCE, "clients/node/examples/call_on_register.js")]


def wait_watchers(metrics_port, example, count, timeout=20):
    """Until `count` WatchRegistrations streams are open (the example's is
    subscribed, so the REGISTERED event cannot be missed)."""
    deadline = time.time() + timeout
    while True:
        value = e2e.scrape(metrics_port).value("switchboard_events_watchers")
        if value >= count:
            return
        if example.proc.poll() is not None:
            rc, err = example.finish(5)
            raise e2e.TestFailure("the example exited %d before watching: %s\n%s" %
                                  (rc, example.output, err))
        if time.time() > deadline:
            raise e2e.TestFailure("the example opened no WatchRegistrations stream within %d s "
                                  "(switchboard_events_watchers %s)" % (timeout, value))
        time.sleep(0.05)


def check_in_order(output, patterns):
    """Each regex of `patterns` matches a whole line of `output`, in this
    order (other lines may come between); returns the match objects."""
    found, i = [], 0
    for p in patterns:
        while i < len(output) and not re.fullmatch(p, output[i]):
            i += 1
        e2e.check(i < len(output), "no line matching %r (in order after %s) in the output:\n    %s"
                  % (p, [m.group(0) for m in found], "\n    ".join(output)))
        found.append(re.fullmatch(p, output[i]))
        i += 1
    return found


class DeviceCall:
    """The example waiting for sip:USER@REALM, then a sipp device that
    registers USER and plays `scenario_name` on the registered port."""

    def __init__(self, args, work, sb, metrics_port, realm, user, scenario_name, hangup_after):
        self.user, self.realm = user, realm
        self.aor = "sip:%s@%s" % (user, realm)
        pw = e2e.random_password()
        sb.ok("credential", "create", realm, user, "--password-stdin", stdin=pw + "\n")
        # No stream of an earlier example left (its close may still be on the
        # way): then the example's own stream is the one counted below.
        deadline = time.time() + 10
        while e2e.scrape(metrics_port).value("switchboard_events_watchers") != 0:
            e2e.check(time.time() < deadline, "WatchRegistrations streams still open")
            time.sleep(0.05)
        cmd = example_command(args) + [
            "--server", sb.server.grpc_address, "--token", sb.server.admin_token,
            "--aor", self.aor, "--hangup-after", str(hangup_after), "--timeout", "30"]
        self.example = Example(cmd, example_env(args))
        self.dev = None
        try:
            wait_watchers(metrics_port, self.example, 1)
            self.dev = calls.SippDevice(work, sb.server, realm, user, pw, scenario_name,
                                        name="%s-%s" % (user, scenario_name[:-4]))
            started = time.time()
            self.dev.register()
            self.dev.listen()
            e2e.log("device registered from port %d, UAS listening %.0f ms after the REGISTER "
                    "started" % (self.dev.port, (time.time() - started) * 1000))
            self.rc, self.err = self.example.finish(45)
            self.exited = time.time()
            self.output = self.example.output
            e2e.log("example output:\n    " + "\n    ".join(self.output) +
                    ("\n  stderr:\n    " + "\n    ".join(self.err.splitlines())
                     if self.err.strip() else ""))
        except BaseException:
            self.cleanup()
            raise

    def cleanup(self):
        if self.example.proc.poll() is None:
            self.example.proc.kill()
            self.example.proc.wait()
        if self.dev is not None and self.dev.sipp is not None:
            self.dev.sipp.kill()

    def check_lines(self, end_reason):
        """The example exited 0 and printed registered, call, RINGING,
        ANSWERED and ENDED `end_reason` in order, ENDED last; returns
        (call name, seconds the call lasted as printed)."""
        e2e.check(self.rc == 0, "the example exited %d, expected 0: %s" % (self.rc, self.err))
        port = self.dev.port
        m = check_in_order(self.output, [
            r"registered %s sip:%s@127\.0\.0\.1:%d\S*" % (re.escape(self.aor),
                                                       re.escape(self.user), port),
            r"call (calls/\S+) (TRYING|RINGING)",
            r"RINGING",
            r"ANSWERED sip:\S*@127\.0\.0\.1:%d\S*" % port,
            r"ENDED %s (\d+) \((\d+\.\d)s\)" % end_reason,
        ])
        e2e.check(self.output[-1] == m[4].group(0), "lines after ENDED: %s" % self.output)
        e2e.check(len([l for l in self.output if l.startswith("ENDED")]) == 1,
                  "more than one ENDED line: %s" % self.output)
        return m[1].group(1), float(m[4].group(2))

    def invites(self):
        """(INVITE transmissions received, ms from the UAS start to the first)."""
        invites = self.dev.sipp.received("INVITE ")
        e2e.check(len(calls.unique_requests(invites)) == 1, "the device got %d INVITE(s)\n%s" %
                  (len(calls.unique_requests(invites)), self.dev.sipp.report()))
        first = min(t for d, t, text in self.dev.sipp.messages()
                    if d == "in" and text.startswith("INVITE "))
        return len(invites), (first - self.dev.sipp.started) * 1000


def part_call(args, work, sb, metrics_port, realm):
    """uas_answer: the example hangs up 1 s after the answer."""
    c = DeviceCall(args, work, sb, metrics_port, realm, "phone-" + args.client,
                   "uas_answer.xml", 1)
    try:
        name, took = c.check_lines("HANGUP_API")
        c.dev.expect_success("the device (INVITE answered, BYE expected)", timeout=15)
        e2e.check(0.5 <= took <= 15, "ENDED after %.1f s with --hangup-after 1" % took)
        e2e.check(c.err.strip() == "", "the example wrote to stderr: %s" % c.err)
        got = sb.json("call", "get", name)
        e2e.check(got.get("state") == "ENDED" and got.get("end_reason") == "HANGUP_API",
                  "sbctl call get %s: %s" % (name, got))
        e2e.check(len(c.dev.sipp.received("BYE ")) >= 1, "the device got no BYE")
        e2e.log("call: %s ended HANGUP_API after %.1f s; the device got %d INVITE "
                "transmission(s), the first %.0f ms after its UAS run started" %
                ((name, took) + c.invites()))
    finally:
        c.cleanup()


def part_remote(args, work, sb, metrics_port, realm):
    """uas_bye_from_device: the device hangs up 1.5 s after its answer,
    long before --hangup-after 10. The example must exit at once (not when
    its hangup timer would have fired) and quietly (no hangup on a closed
    channel)."""
    c = DeviceCall(args, work, sb, metrics_port, realm, "remote-" + args.client,
                   "uas_bye_from_device.xml", 10)
    try:
        name, took = c.check_lines("HANGUP_REMOTE")
        c.dev.expect_success("the device (its BYE answered 200)", timeout=15)
        waited = c.exited - c.dev.sipp.started
        e2e.check(waited < 8, "the example exited %.1f s after the device started (the device "
                  "hung up after %.1f s): it waited for --hangup-after 10" % (waited, took))
        e2e.check(c.err.strip() == "", "the example wrote to stderr: %s" % c.err)
        e2e.check(not c.dev.sipp.received("BYE "), "the device got a BYE after its own")
        e2e.log("remote: %s ended HANGUP_REMOTE after %.1f s; the example exited %.1f s after "
                "the device started" % (name, took, waited))
    finally:
        c.cleanup()


def part_quiet(args, realm):
    cmd = example_command(args) + [
        "--server", args.server.grpc_address, "--token", args.server.admin_token,
        "--aor", "sip:nobody@%s" % realm, "--timeout", "2"]
    started = time.time()
    rc, err = Example(cmd, example_env(args)).finish(20)
    took = time.time() - started
    e2e.check(rc == 1 and "nothing within" in err,
              "expected exit 1 with 'nothing within' after --timeout 2, got %d: %s" % (rc, err))
    e2e.check(took < 10, "the example took %.1f s to give up after --timeout 2" % took)
    e2e.log("quiet: exit 1 after %.1f s (%s)" % (took, err.strip()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--sbctl", required=True)
    ap.add_argument("--client", choices=["python", "node"], required=True)
    ap.add_argument("--gen-dir", help="build/clients/python/gen (python)")
    ap.add_argument("--node-modules", help="node_modules with @grpc/grpc-js (node)")
    args = ap.parse_args()

    def test():
        if args.client == "node":
            e2e.check(args.node_modules and os.path.isdir(
                os.path.join(args.node_modules, "@grpc", "grpc-js")),
                "no @grpc/grpc-js in %s: run `npm ci` (the e2e.node_deps test does)" %
                args.node_modules)
        e2e.require_tool("sipp", "sip-tester")
        work = e2e.temp_dir("api-call-example-" + args.client)
        server = api.ApiServer(args.binary, work, name="calls", extra=METRICS_ON).start()
        sb = api.Sbctl(args.sbctl, server)
        sb.wait_serving()
        metrics_port = e2e.metrics_port(server)
        realm = "%s.call-examples.e2e.test" % args.client
        sb.ok("realm", "create", realm, "--algorithms", "MD5")
        args.server = server
        part_call(args, work, sb, metrics_port, realm)
        part_remote(args, work, sb, metrics_port, realm)
        part_quiet(args, realm)
        e2e.check(server.stop() == 0, "unclean stop")

    e2e.main_wrapper(test)


if __name__ == "__main__":
    main()
