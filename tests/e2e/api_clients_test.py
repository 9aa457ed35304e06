#!/usr/bin/env python3
"""The Python and Node client examples against the real server: each creates a
realm and a credential over the API, sipp registers a device with that
credential, and the example must print the REGISTERED event, list the new
binding and exit 0. With a realm where nothing registers, the example must
give up after --timeout with exit 1.

usage: api_clients_test.py --binary build/bin/switchboard --sbctl build/bin/sbctl
           --client python --gen-dir build/clients/python/gen
       api_clients_test.py --binary build/bin/switchboard --sbctl build/bin/sbctl
           --client node --node-modules build/clients/node/node_modules
"""
import argparse
import os
import queue
import re
import subprocess
import threading

import api_e2e as api
import switchboard_e2e as e2e

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def example_command(args):
    if args.client == "python":
        return ["/usr/bin/python3", os.path.join(SOURCE, "clients/python/examples/watch_and_list.py")]
    node = e2e.require_tool("node", "nodejs")
    return [node, os.path.join(SOURCE, "clients/node/examples/watch_and_list.js")]


def example_env(args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    if args.client == "python":
        env["PYTHONPATH"] = os.pathsep.join([os.path.join(SOURCE, "clients/python"), args.gen_dir])
    else:
        env["NODE_PATH"] = args.node_modules
    return env


class Example:
    """The example running in the background, its output lines queued."""

    def __init__(self, cmd, env):
        e2e.log("running: " + " ".join(cmd))
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True, env=env,
                                     preexec_fn=e2e.die_with_parent)
        self.lines = queue.Queue()
        self.output = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for_line(self, prefix, timeout):
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise e2e.TestFailure("the example printed no %r line within %d s: %s" %
                                      (prefix, timeout, self.output))
            if line is None:
                raise e2e.TestFailure("the example exited (%s) before printing %r: %s\n%s" %
                                      (self.proc.wait(), prefix, self.output,
                                       self.proc.stderr.read()))
            self.output.append(line)
            if line.startswith(prefix):
                return line

    def finish(self, timeout):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise e2e.TestFailure("the example did not exit within %d s: %s" %
                                  (timeout, self.output))
        while True:
            line = self.lines.get(timeout=5)
            if line is None:
                break
            self.output.append(line)
        return rc, self.proc.stderr.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--sbctl", required=True, help="build/bin/sbctl (to wait for the API)")
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
        work = e2e.temp_dir("api-client-" + args.client)
        server = api.ApiServer(args.binary, work).start()
        api.Sbctl(args.sbctl, server).wait_serving()
        realm = "%s.clients.e2e.test" % args.client
        user, pw = "phone1", e2e.random_password()
        cmd = example_command(args) + [
            "--server", server.grpc_address, "--token", server.admin_token, "--realm", realm,
            "--create-realm", "--username", user, "--password", pw, "--since", "0",
            "--until-event", "REGISTERED", "--timeout", "30"]
        example = Example(cmd, example_env(args))
        example.wait_for_line("watching", 20)
        e2e.check(any(l == "bindings: 0" for l in example.output),
                  "no empty binding list before the registration: %s" % example.output)
        e2e.check(any(l == "created realms/%s/credentials/%s" % (realm, user)
                      for l in example.output), "credential not created: %s" % example.output)

        port = e2e.free_port()
        api.sipp_register(work, server, realm, user, pw, port, expires=600)
        rc, err = example.finish(20)
        e2e.log("example output:\n    " + "\n    ".join(example.output))
        e2e.check(rc == 0, "the example exited %d: %s" % (rc, err))
        aor = "sip:%s@%s" % (user, realm)
        event = [l for l in example.output if l.startswith("event ")]
        e2e.check(len(event) == 1 and re.match(
            r'event #\d+ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ REGISTERED %s sip:%s@127\.0\.0\.1:%d\S* '
            r'udp 127\.0\.0\.1:%d "sipp-e2e"$' % (re.escape(aor), user, port, port), event[0]),
            "expected one REGISTERED event line for %s from port %d: %s" % (aor, port, event))
        bindings = [l for l in example.output if l.startswith("binding ")]
        e2e.check(len(bindings) == 1 and bindings[0].startswith(
            "binding %s sip:%s@127.0.0.1:%d" % (aor, user, port)) and
            " realms/%s/aors/%s/bindings/" % (realm, user) in bindings[0],
            "the binding is not listed after the event: %s" % bindings)
        e2e.check(example.output[-1] == "bindings: 1", "last line: %r" % example.output[-1])

        # Nothing registers in a fresh realm: exit 1 after --timeout.
        cmd = example_command(args) + [
            "--server", server.grpc_address, "--token", server.admin_token,
            "--realm", "quiet." + realm, "--create-realm", "--until-event", "REGISTERED",
            "--timeout", "2"]
        quiet = Example(cmd, example_env(args))
        rc, err = quiet.finish(20)
        e2e.check(rc == 1 and "REGISTERED" in err,
                  "expected exit 1 with a message after --timeout, got %d: %s %s" %
                  (rc, quiet.output, err))
        # A bad token: the API's refusal, exit 2.
        cmd = example_command(args) + ["--server", server.grpc_address, "--token", "sbt_wrong",
                                       "--realm", realm]
        rc, err = Example(cmd, example_env(args)).finish(20)
        e2e.check(rc == 2 and "UNAUTHENTICATED" in err, "bad token: %d %s" % (rc, err))
        e2e.check(server.stop() == 0, "unclean stop")

    e2e.main_wrapper(test)


if __name__ == "__main__":
    main()
