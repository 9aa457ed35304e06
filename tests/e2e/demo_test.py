#!/usr/bin/env python3
"""`make run`'s demo (gateway/run_demo.sh) works as printed: it writes a
private config with a freshly generated password, starts switchboard, and the
sipsak lines it prints register and query the demo user; a wrong password
fails. The admin API token switchboard prints below the banner works with
sbctl. A second start generates a new password and a new token, and the old
ones stop working (the config is applied on every start).

usage: demo_test.py --binary build/bin/switchboard --script gateway/run_demo.sh
"""
import argparse
import os
import re
import shlex
import signal
import stat
import subprocess
import time

import switchboard_e2e as e2e


def start_demo(script, binary, build, port, grpc_port):
    out = open(os.path.join(build, "demo.out"), "wb")
    err = open(os.path.join(build, "demo.err"), "wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env["GRPC_LISTEN"] = "127.0.0.1:%d" % grpc_port  # not the default 50051: tests run in parallel
    env["METRICS_LISTEN"] = "off"  # not the default 9090 either
    proc = subprocess.Popen(["bash", script, binary, build, "udp:127.0.0.1:%d" % port,
                             "tcp:127.0.0.1:%d" % port], stdin=subprocess.DEVNULL, stdout=out,
                            stderr=err, env=env, preexec_fn=e2e.die_with_parent)
    deadline = time.time() + 20
    while time.time() < deadline:
        with open(os.path.join(build, "demo.err"), errors="replace") as f:
            if '"msg":"started"' in f.read():
                break
        if proc.poll() is not None:
            raise e2e.TestFailure("the demo exited with %d" % proc.returncode)
        time.sleep(0.05)
    else:
        raise e2e.TestFailure("the demo did not start")
    # The admin token line comes from switchboard itself, after the banner.
    while True:
        with open(os.path.join(build, "demo.out"), errors="replace") as f:
            text = f.read()
        if "admin API token" in text or time.time() > deadline:
            return proc, text
        time.sleep(0.05)


def check_api_token(binary, grpc_port, text):
    """The token the demo printed works with sbctl (from the same build);
    returns it."""
    sbctl = os.path.join(os.path.dirname(binary), "sbctl")
    e2e.check(os.path.exists(sbctl), "%s missing: build the sbctl target" % sbctl)
    m = re.search(r"admin API token \(shown once, only its SHA-256 is stored\): (sbt_\S+)", text)
    e2e.check(m is not None, "the demo printed no admin API token:\n%s" % text[-1500:])
    token = m.group(1)
    r = subprocess.run([sbctl, "--server", "127.0.0.1:%d" % grpc_port, "--token", token, "--json",
                        "realm", "list"], capture_output=True, text=True, timeout=30)
    e2e.check(r.returncode == 0 and "realms/demo.switchboard.test" in r.stdout,
              "sbctl with the printed token: %d %s%s" % (r.returncode, r.stdout, r.stderr))
    return token


def run_line(line):
    r = subprocess.run(shlex.split(line), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    return r.returncode, r.stdout.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--script", required=True)
    args = ap.parse_args()

    def test():
        e2e.require_tool("sipsak", "sipsak")
        build = e2e.temp_dir("demo")
        port = e2e.free_udp_tcp_port()
        grpc_port = e2e.free_port(e2e.socket.SOCK_STREAM)
        proc, text = start_demo(args.script, args.binary, build, port, grpc_port)
        try:
            password = re.search(r"password\s+(\S+)", text).group(1)
            e2e.check(len(password) >= 20, "a weak demo password: %d characters" % len(password))
            config = os.path.join(build, "demo", "switchboard.yaml")
            e2e.check(stat.S_IMODE(os.stat(config).st_mode) == 0o600,
                      "the demo config is readable by others")
            register = next(l.strip() for l in text.splitlines() if "sipsak" in l and "-x 600" in l)
            query = next(l.strip() for l in text.splitlines() if "sipsak" in l and "-C empty" in l)
            account = next(l.strip() for l in text.splitlines() if "account line:" in l)
            e2e.check('auth_pass=%s;outbound="sip:127.0.0.1:%d"' % (password, port) in account,
                      "unexpected baresip account line: %s" % account)

            rc, out = run_line(register)
            e2e.check(rc == 0, "the printed sipsak line failed (%d):\n%s" % (rc, out[-1500:]))
            rc, out = run_line(query)
            e2e.check(rc == 0 and "<sip:demo@127.0.0.1:5070>;expires=" in out,
                      "the printed query line did not list the binding (%d):\n%s" %
                      (rc, out[-1500:]))
            rc, out = run_line(register.replace(password, password[::-1]))
            e2e.check(rc != 0, "sipsak with a wrong password succeeded")
            e2e.log("the printed sipsak lines register and query; a wrong password fails")
            token = check_api_token(args.binary, grpc_port, text)
            e2e.log("the printed admin API token works with sbctl")
        finally:
            proc.send_signal(signal.SIGTERM)  # the script exec'd switchboard: same PID
            proc.wait(15)
        e2e.check(proc.returncode == 0, "the demo exited %s on SIGTERM" % proc.returncode)

        # A second start: new password, the old one no longer works.
        proc, text2 = start_demo(args.script, args.binary, build, port, grpc_port)
        try:
            password2 = re.search(r"password\s+(\S+)", text2).group(1)
            e2e.check(password2 != password, "the demo password was not regenerated")
            register2 = next(l.strip() for l in text2.splitlines() if "sipsak" in l and "-x 600" in l)
            rc, out = run_line(register2)
            e2e.check(rc == 0, "the new password failed (%d):\n%s" % (rc, out[-1500:]))
            rc, out = run_line(register2.replace(password2, password))
            e2e.check(rc != 0, "the previous password still works")
            e2e.log("a restart regenerates the password; the old one is refused")
            token2 = check_api_token(args.binary, grpc_port, text2)
            e2e.check(token2 != token, "the demo API token was not regenerated")
            r = subprocess.run([os.path.join(os.path.dirname(args.binary), "sbctl"), "--server",
                                "127.0.0.1:%d" % grpc_port, "--token", token, "realm", "list"],
                               capture_output=True, text=True, timeout=30)
            e2e.check(r.returncode == 4, "the previous API token still works (%d)" % r.returncode)
            e2e.log("a restart regenerates the API token; the old one is refused")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
        e2e.check(proc.returncode == 0, "the demo exited %s on SIGTERM" % proc.returncode)

    e2e.main_wrapper(test)


if __name__ == "__main__":
    main()
