"""Helpers for the gRPC API end-to-end tests (api_*_test.py), on top of
switchboard_e2e: a server with the API on a free loopback port and known
bearer tokens, sbctl runs (one-shot and `watch` in the background), single
sipp registrations with a chosen expiry, and the generated Python stubs for
raw gRPC calls.

  server = api_e2e.ApiServer(binary, work).start()
  sbctl = api_e2e.Sbctl(sbctl_binary, server)
  sbctl.ok("realm", "create", "acme.test", "--min-expires", "1")
  sbctl.ok("credential", "create", "acme.test", "alice", "--password-stdin", stdin="pw\\n")
  with sbctl.watch("--since", "0") as watcher:
      api_e2e.sipp_register(work, server, "acme.test", "alice", "pw", port, expires=60)
      event = watcher.next_event(10)

Debian's /usr/bin/python3; grpc (python3-grpcio) only where raw calls are made.
"""

import hashlib
import json
import os
import queue
import secrets
import signal
import socket
import subprocess
import threading
import time

import switchboard_e2e as e2e

SIPP_EXPIRES_SCENARIO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp",
                                     "reg_expires.xml")


def new_token():
    """(token, hex SHA-256) for api.tokens."""
    token = "sbt_e2e_" + secrets.token_urlsafe(24)
    return token, hashlib.sha256(token.encode()).hexdigest()


def md5_hex(text):
    return hashlib.md5(text.encode()).hexdigest()


class ApiServer(e2e.Server):
    """The real switchboard with the gRPC API on 127.0.0.1:<free port> and
    two configured tokens: self.admin_token (role admin) and self.read_token
    (role read). `events` is YAML text for the events: section (e.g.
    "  max_count: 5\\n"); `realms` as for e2e.config_yaml."""

    def __init__(self, binary, workdir, realms=(), events="", tls=None, extra="",
                 name="switchboard"):
        self.grpc_port = e2e.free_port(socket.SOCK_STREAM)
        self.admin_token, admin_sha = new_token()
        self.read_token, read_sha = new_token()
        api = "grpc:\n  listen: %s\n" % e2e.yaml_str("%s:%d" % (e2e.HOST, self.grpc_port))
        if tls:  # {cert_file, key_file, client_ca_file}
            api += "  tls: {%s}\n" % ", ".join("%s: %s" % (k, e2e.yaml_str(v))
                                               for k, v in tls.items())
        api += "api:\n  tokens:\n"
        api += "    - {name: e2e-admin, role: admin, sha256: %s}\n" % e2e.yaml_str(admin_sha)
        api += "    - {name: e2e-read, role: read, sha256: %s}\n" % e2e.yaml_str(read_sha)
        if events:
            api += "events:\n" + events
        if not realms:
            # A realm nobody uses keeps `realms:` a list; the tests create theirs over the API.
            realms = [e2e.realm_yaml("bootstrap.e2e.test", [("nobody", e2e.random_password())])]
        config = e2e.config_yaml(os.path.join(workdir, "data"), list(realms), extra=api + extra,
                                 grpc_listen=None)
        super().__init__(binary, workdir, config, name=name)

    @property
    def grpc_address(self):
        return "%s:%d" % (e2e.HOST, self.grpc_port)


class Sbctl:
    """Runs build/bin/sbctl against one ApiServer with its admin token."""

    def __init__(self, binary, server, global_args=()):
        self.binary = binary
        self.server = server
        self.global_args = list(global_args)  # e.g. ["--ca-file", "ca.pem"]

    def command(self, args, token=None, server=None):
        cmd = [self.binary, "--server", server or self.server.grpc_address] + self.global_args
        token = self.server.admin_token if token is None else token
        if token:
            cmd += ["--token", token]
        return cmd + list(args)

    def run(self, *args, token=None, stdin=None, server=None, env=None, timeout=30):
        """(exit status, stdout, stderr). `env`: extra environment variables
        (the caller's SWITCHBOARD_* are never passed on)."""
        env = dict({k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")},
                   **(env or {}))
        p = subprocess.run(self.command(args, token, server), input=stdin, capture_output=True,
                           text=True, timeout=timeout, env=env, preexec_fn=e2e.die_with_parent)
        return p.returncode, p.stdout, p.stderr

    def ok(self, *args, **kw):
        """Runs sbctl, which must exit 0; returns stdout."""
        rc, out, err = self.run(*args, **kw)
        e2e.check(rc == 0, "sbctl %s exited %d:\n%s%s" % (" ".join(args), rc, out, err))
        return out

    def json(self, *args, **kw):
        """sbctl --json …, exit 0, its stdout parsed."""
        out = self.ok("--json", *args, **kw)
        try:
            return json.loads(out)
        except ValueError:
            raise e2e.TestFailure("sbctl --json %s printed no JSON: %r" % (" ".join(args), out))

    def fails(self, expected_rc, *args, **kw):
        """Runs sbctl, which must exit `expected_rc`; returns stderr."""
        rc, out, err = self.run(*args, **kw)
        e2e.check(rc == expected_rc, "sbctl %s exited %d, expected %d:\n%s%s" %
                  (" ".join(args), rc, expected_rc, out, err))
        e2e.check(err.strip() != "", "sbctl %s exited %d without a message on stderr" %
                  (" ".join(args), rc))
        return err

    def watch(self, *args, token=None):
        return Watcher(self.command(["--json", "watch"] + list(args), token))

    def wait_serving(self, timeout=20):
        """Polls `sbctl health` until the server answers SERVING (the API
        listener may come up a moment after the SIP one)."""
        deadline = time.time() + timeout
        while True:
            rc, out, err = self.run("health", "--timeout", "2")
            if rc == 0 and out.strip() == "SERVING":
                return
            if time.time() > deadline:
                raise e2e.TestFailure("the API did not answer SERVING within %d s: %d %s%s" %
                                      (timeout, rc, out, err))
            time.sleep(0.1)


class Watcher:
    """`sbctl --json watch …` in the background; its stdout lines are parsed
    as they arrive."""

    def __init__(self, cmd):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True, env=env,
                                     preexec_fn=e2e.die_with_parent)
        self.lines = queue.Queue()
        self.stderr = ""
        self.events = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()

    def next_event(self, timeout):
        """The next event (a dict), or None when sbctl exited first; fails
        the test after `timeout` seconds without one."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise e2e.TestFailure("no event within %.0f s (watcher: %s)" % (timeout, self.proc.args))
        if line is None:
            self.lines.put(None)  # stays at end of stream
            return None
        try:
            event = json.loads(line)
        except ValueError:
            raise e2e.TestFailure("watch printed a line that is not JSON: %r" % line)
        event["sequence"] = int(event["sequence"])
        self.events.append(event)
        return event

    def events_until(self, count, timeout):
        """Reads until `count` events in total were received; returns them all."""
        deadline = time.time() + timeout
        while len(self.events) < count:
            left = deadline - time.time()
            if left <= 0 or self.next_event(left) is None:
                raise e2e.TestFailure("expected %d events, got %d: %s\n%s" %
                                      (count, len(self.events), summary(self.events),
                                       self.finish(1)[1]))
        return self.events

    def no_event_for(self, seconds):
        """Fails if an event arrives within `seconds`."""
        try:
            line = self.lines.get(timeout=seconds)
        except queue.Empty:
            return
        self.lines.put(line)
        raise e2e.TestFailure("unexpected event: %s" % (line or "(sbctl exited)").strip())

    def finish(self, timeout=10):
        """Waits for sbctl to exit; (exit status, stderr)."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise e2e.TestFailure("sbctl watch did not exit within %d s" % timeout)
        self.stderr = self.proc.stderr.read()
        return rc, self.stderr

    def interrupt(self, sig=signal.SIGINT, timeout=10):
        """Sends `sig`; returns (exit status, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.finish(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def summary(events):
    """'#3 REGISTERED sip:a@x, #4 REFRESHED sip:a@x' for messages."""
    return ", ".join("#%s %s %s" % (e["sequence"], e["type"], e.get("binding", {}).get("aor", ""))
                     for e in events) or "(none)"


def sipp_register(workdir, server, realm, user, password, local_port, expires=60, ua="sipp-e2e",
                  timeout=20):
    """One authenticated REGISTER (with its 401 round) from sipp over UDP on
    `local_port` with `Expires: expires` (0 unregisters). Fails the test
    unless sipp completed the flow with a 200."""
    e2e.require_tool("sipp", "sip-tester")
    csv = os.path.join(workdir, "sipp_%s.csv" % user)
    e2e.write_users_csv(csv, [(user, password)])
    cmd = ["sipp", "%s:%d" % (e2e.HOST, server.udp_port), "-sf", SIPP_EXPIRES_SCENARIO,
           "-inf", csv, "-key", "sipdomain", realm, "-key", "expires", str(expires),
           "-key", "ua", ua, "-auth_uri", realm, "-i", e2e.HOST, "-p", str(local_port),
           "-t", "u1", "-m", "1", "-timeout", "%ds" % timeout, "-nd", "-nostdin",
           "-trace_err", "-error_file", os.path.join(workdir, "sipp_errors.log")]
    out_path = os.path.join(workdir, "sipp_%s_%d.out" % (user, local_port))
    with open(out_path, "wb") as out:
        try:
            rc = subprocess.run(cmd, cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, timeout=timeout + 10,
                                preexec_fn=e2e.die_with_parent).returncode
        except subprocess.TimeoutExpired:
            raise e2e.TestFailure("sipp did not finish within %d s" % (timeout + 10))
    if rc != 0:
        errors = ""
        try:
            with open(os.path.join(workdir, "sipp_errors.log"), errors="replace") as f:
                errors = f.read()[-2000:]
        except OSError:
            pass
        raise e2e.TestFailure("sipp REGISTER %s@%s (expires %d) failed: exit %d\n%s" %
                              (user, realm, expires, rc, errors))
    e2e.log("sipp: %s@%s registered from port %d with expires %d" % (user, realm, local_port,
                                                                     expires))


def load_stubs(gen_dir):
    """Imports grpc and the generated stubs from `gen_dir`
    (build/clients/python/gen); returns (grpc, registration_pb2,
    registration_pb2_grpc)."""
    import sys
    if gen_dir not in sys.path:
        sys.path.insert(0, gen_dir)
    try:
        import grpc
        from switchboard.v1 import registration_pb2, registration_pb2_grpc
    except ImportError as exc:
        raise e2e.TestFailure("cannot import grpc and the generated stubs from %s (%s): install "
                              "python3-grpcio (make deps) and build the python_stubs target" %
                              (gen_dir, exc))
    return grpc, registration_pb2, registration_pb2_grpc
