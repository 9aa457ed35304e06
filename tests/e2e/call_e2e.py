"""Helpers for the call end-to-end tests (call_*_test.py), on top of
switchboard_e2e and api_e2e: sipp runs in the background with their message
logs kept, "devices" (a sipp REGISTER from a port, then a call scenario on
that same port), `sbctl call watch` in the background, and the checks the
scenarios cannot make themselves (a Proxy-Authorization digest, the DTMF
digits received).

  dev = call_e2e.SippDevice(work, server, "acme.test", "alice", "pw", "uas_answer.xml")
  dev.register_and_listen()            # REGISTER (401 round) from port P, then the UAS on P
  call_e2e.wait_binding(sbctl, "acme.test", "alice", dev.port)
  with call_e2e.call_watch(sbctl, "--realm", "acme.test") as w:
      call = sbctl.json("call", "create", "--to", "sip:alice@acme.test", "--wait", "answered")
      w.wait_for(call["name"], "ANSWERED", 10)
  dev.finish(10)                        # sipp's exit status must be 0

Why a device is two sipp runs: SIPp maps every incoming message to a call by
its Call-ID, and a client-mode scenario (one that starts by sending, as a
REGISTER does) discards requests with a Call-ID it did not create, so one
scenario cannot register and then take the server's INVITE. Over UDP the
second run binds the registered port at once.

Debian's /usr/bin/python3, standard library only.
"""

import hashlib
import json
import os
import re
import signal
import subprocess
import time

import api_e2e as api
import switchboard_e2e as e2e

SIPP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp")
SDP_OFFER = ("v=0\r\no=switchboard-e2e 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
             "t=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
             "a=rtpmap:101 telephone-event/8000\r\n")
SDP_ANSWER = ("v=0\r\no=agent-e2e 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
              "t=0 0\r\nm=audio 40002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


def scenario(name):
    return os.path.join(SIPP_DIR, name)


class Sipp:
    """One sipp process in the background. Its message log (-trace_msg),
    error log (-trace_err) and screen output stay in `workdir` under
    `name`.*; `finish()` waits for it and returns its exit status."""

    def __init__(self, workdir, name, scenario_file, args, remote=None, local_port=None,
                 timeout=30):
        e2e.require_tool("sipp", "sip-tester")
        self.workdir = workdir
        self.name = name
        self.timeout = timeout
        self.local_port = local_port or e2e.free_port()
        self.msg_path = os.path.join(workdir, name + ".msg")
        self.err_path = os.path.join(workdir, name + ".err")
        self.out_path = os.path.join(workdir, name + ".out")
        cmd = ["sipp"]
        if remote:
            cmd.append(remote)
        cmd += ["-sf", scenario_file, "-i", e2e.HOST, "-p", str(self.local_port), "-t", "u1",
                "-m", "1", "-timeout", "%ds" % timeout, "-nd", "-nostdin",
                "-trace_msg", "-message_file", self.msg_path,
                "-trace_err", "-error_file", self.err_path] + list(args)
        self.cmd = cmd
        self._out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=workdir, stdout=self._out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=e2e.die_with_parent)
        self.started = time.time()
        e2e.log("%s: sipp pid %d on port %d: %s" % (name, self.proc.pid, self.local_port,
                                                  os.path.basename(scenario_file)))

    def finish(self, timeout=None):
        """Waits for sipp (its own -timeout plus a margin, or `timeout`);
        kills it if it is still running then. Returns its exit status
        (None when it had to be killed)."""
        timeout = self.timeout + 10 if timeout is None else timeout
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            rc = None
        self._out.close()
        return rc

    def running(self):
        return self.proc.poll() is None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def messages(self):
        """[(direction 'in'|'out', time.time() stamp, text)] from the
        message log. sipp writes a separator line with a date and a time
        before every message."""
        try:
            with open(self.msg_path, errors="replace") as f:
                text = f.read()
        except OSError:
            return []
        out = []
        parts = re.split(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\s*$", text, flags=re.M)
        for i in range(1, len(parts) - 1, 2):
            stamp, body = parts[i], parts[i + 1]
            m = re.match(r"\s*\S+ message (received|sent)[^\n]*\n\n?(.*)", body, re.S)
            if not m:
                continue
            t = time.mktime(time.strptime(stamp.split(".")[0], "%Y-%m-%d %H:%M:%S"))
            t += float("0." + stamp.split(".")[1])
            out.append(("in" if m.group(1) == "received" else "out", t, m.group(2).strip("\n")))
        return out

    def received(self, start):
        """Received messages whose first line starts with `start`."""
        return [text for d, _, text in self.messages() if d == "in" and text.startswith(start)]

    def report(self):
        """Screen tail, errors and the message flow, for failure messages."""
        lines = ["--- sipp %s (%s) ---" % (self.name, " ".join(self.cmd))]
        for path, tail in ((self.err_path, 3000), (self.out_path, 1500)):
            try:
                with open(path, errors="replace") as f:
                    lines.append("%s:\n%s" % (os.path.basename(path), f.read()[-tail:]))
            except OSError:
                pass
        flow = ["  %s %s" % ("<-" if d == "in" else "->", text.split("\n", 1)[0])
                for d, _, text in self.messages()]
        lines.append("message flow:\n" + ("\n".join(flow) or "  (none)"))
        return "\n".join(lines)


class SippDevice:
    """A device: registers `user` from a fresh UDP port with reg_expires.xml,
    then runs `scenario_name` (a uas_*.xml or uac_*.xml) on that port."""

    def __init__(self, workdir, server, realm, user, password, scenario_name, name=None,
                 expires=300, keys=(), remote=False, timeout=30, extra=()):
        self.workdir = workdir
        self.server = server
        self.realm = realm
        self.user = user
        self.password = password
        self.scenario_name = scenario_name
        self.name = name or "%s-%s" % (user, scenario_name.replace(".xml", ""))
        self.expires = expires
        self.keys = dict(keys)
        self.remote = remote  # uac: sends to the server
        self.timeout = timeout
        self.extra = list(extra)
        self.port = e2e.free_port()
        self.sipp = None

    def register(self):
        sipp_register(self.workdir, self.server, self.realm, self.user, self.password,
                      self.port, expires=self.expires, ua="sipp-device-" + self.name)

    def listen(self):
        args = ["-key", "sipdomain", self.realm]
        for k, v in self.keys.items():
            args += ["-key", k, v]
        args += self.extra
        remote = "%s:%d" % (e2e.HOST, self.server.udp_port) if self.remote else None
        self.sipp = Sipp(self.workdir, self.name, scenario(self.scenario_name), args,
                         remote=remote, local_port=self.port, timeout=self.timeout)
        return self

    def register_and_listen(self):
        self.register()
        return self.listen()

    def finish(self, timeout=None):
        return self.sipp.finish(timeout)

    def expect_success(self, what, timeout=None):
        """sipp must exit 0 (its scenario ran to the end) within `timeout`."""
        rc = self.finish(timeout)
        e2e.check(rc == 0, "%s: device %s (%s) exited %s, expected 0\n%s" %
                  (what, self.name, self.scenario_name, "(killed: still running)" if rc is None
                   else rc, self.sipp.report()))

    def unregister(self):
        """Expires: 0 from the same port (after the call scenario ended)."""
        sipp_register(self.workdir, self.server, self.realm, self.user, self.password,
                      self.port, expires=0, ua="sipp-device-" + self.name)


def sipp_register(workdir, server, realm, user, password, local_port, expires=300, ua="sipp-e2e",
                  timeout=15):
    """One authenticated REGISTER from `local_port` with reg_expires_any.xml
    (the realm may challenge with 401 or 407); fails unless it ends in 200."""
    csv = os.path.join(workdir, "reg_%s_%d.csv" % (user, local_port))
    e2e.write_users_csv(csv, [(user, password)])
    name = "reg-%s-%d-%d" % (user, local_port, expires)
    run = Sipp(workdir, name, scenario("reg_expires_any.xml"),
               ["-inf", csv, "-key", "sipdomain", realm, "-key", "expires", str(expires),
                "-key", "ua", ua, "-auth_uri", realm],
               remote="%s:%d" % (e2e.HOST, server.udp_port), local_port=local_port,
               timeout=timeout)
    rc = run.finish(timeout + 5)
    e2e.check(rc == 0, "REGISTER %s@%s from port %d (expires %d): sipp exited %s\n%s" %
              (user, realm, local_port, expires, rc, run.report()))


def wait_binding(sbctl, realm, user, port, timeout=10):
    """Waits until `binding list` shows user@realm's binding from `port`."""
    aor = "sip:%s@%s" % (user, realm)
    deadline = time.time() + timeout
    while True:
        bindings = sbctl.json("binding", "list", "--aor", aor).get("bindings", [])
        mine = [b for b in bindings if b.get("source_address") == "%s:%d" % (e2e.HOST, port)]
        if mine:
            return mine[0]
        if time.time() > deadline:
            raise e2e.TestFailure("no binding of %s from port %d within %d s: %s" %
                                  (aor, port, timeout, bindings))
        time.sleep(0.1)


class CallWatcher(api.Watcher):
    """`sbctl --json call watch …` in the background: one CallEvent per line."""

    def call_events(self, call_name):
        return [e for e in self.events if e.get("call", {}).get("name") == call_name]

    def wait_for(self, call_name, event_type, timeout):
        """Reads events until `call_name` has one of `event_type`; returns it."""
        deadline = time.time() + timeout
        while True:
            for e in self.call_events(call_name):
                if e.get("type") == event_type:
                    return e
            left = deadline - time.time()
            if left <= 0:
                raise e2e.TestFailure("no %s event for %s within %.0f s; its events: %s" %
                                      (event_type, call_name, timeout,
                                       summary(self.call_events(call_name))))
            if self.next_event(left) is None:
                rc, err = self.finish(5)
                raise e2e.TestFailure("sbctl call watch exited %s before %s for %s: %s" %
                                      (rc, event_type, call_name, err))

    def wait_type(self, event_type, timeout, predicate=lambda e: True):
        """The first event of `event_type` (any call) matching `predicate`."""
        deadline = time.time() + timeout
        seen = 0
        while True:
            for e in self.events[seen:]:
                if e.get("type") == event_type and predicate(e):
                    return e
            seen = len(self.events)
            left = deadline - time.time()
            if left <= 0:
                raise e2e.TestFailure("no %s event within %.0f s; events: %s" %
                                      (event_type, timeout, summary(self.events)))
            if self.next_event(left) is None:
                rc, err = self.finish(5)
                raise e2e.TestFailure("sbctl call watch exited %s before %s: %s" %
                                      (rc, event_type, err))


def call_watch(sbctl, *args, token=None):
    return CallWatcher(sbctl.command(["--json", "call", "watch"] + list(args), token))


def load_call_stubs(gen_dir):
    """Imports grpc (python3-grpcio) and the CallService stubs generated into
    `gen_dir` (build/clients/python/gen); returns (grpc, call_pb2,
    call_pb2_grpc)."""
    import sys
    if gen_dir not in sys.path:
        sys.path.insert(0, gen_dir)
    try:
        import grpc
        from switchboard.v1 import call_pb2, call_pb2_grpc
    except ImportError as exc:
        raise e2e.TestFailure("cannot import grpc and the generated stubs from %s (%s): install "
                              "python3-grpcio (make deps) and build the python_stubs target" %
                              (gen_dir, exc))
    return grpc, call_pb2, call_pb2_grpc


class GrpcCallWatcher(CallWatcher):
    """WatchCalls over python3-grpcio, with CallWatcher's reading methods.
    The constructor returns once the server has sent the stream's headers,
    i.e. once it has subscribed (on replicas: once its streams to the peers
    are open, docs/scale-out.md), so no event of a call created afterwards
    can be missed — `sbctl call watch` cannot tell when that is. Events are
    the CallEvent messages as dicts with the proto field names and enum
    names, as `sbctl --json call watch` prints them.

      with GrpcCallWatcher(gen_dir, server.grpc_address, token) as w:
          call = sbctl.json("call", "create", "--to", aor, "--wait", "answered")
          w.wait_for(call["name"], "ANSWERED", 10)
    """

    def __init__(self, gen_dir, address, token, realm="", types=(), call="",
                 subscribe_timeout=10.0):
        import queue
        import threading
        import types as pytypes
        grpc, call_pb2, call_pb2_grpc = load_call_stubs(gen_dir)
        from google.protobuf import json_format
        self._grpc, self._json_format = grpc, json_format
        self.proc = pytypes.SimpleNamespace(args="WatchCalls at %s" % address)  # for messages
        self.lines = queue.Queue()
        self.events = []
        self.stderr = ""
        self.status = None  # (code name, details) once the stream ended
        self.channel = grpc.insecure_channel(address)
        request = call_pb2.WatchCallsRequest(
            realm=("realms/" + realm) if realm and not realm.startswith("realms/") else realm,
            call=("calls/" + call) if call and not call.startswith("calls/") else call,
            types=[call_pb2.CallEvent.Type.Value(t.upper()) for t in types])
        self.stream = call_pb2_grpc.CallServiceStub(self.channel).WatchCalls(
            request, metadata=(("authorization", "Bearer " + token),))
        subscribed = threading.Thread(target=self.stream.initial_metadata, daemon=True)
        started = time.time()
        subscribed.start()
        subscribed.join(subscribe_timeout)
        if subscribed.is_alive():
            self.kill()
            raise e2e.TestFailure("WatchCalls at %s: no headers within %.0f s" %
                                  (address, subscribe_timeout))
        self.subscribe_seconds = time.time() - started
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        try:
            for event in self.stream:
                self.lines.put(self._json_format.MessageToJson(
                    event, preserving_proto_field_name=True, indent=None))
            self.status = ("OK", "the server ended the stream")
        except self._grpc.RpcError as exc:
            self.status = (exc.code().name, exc.details() or "")
        self.lines.put(None)

    def finish(self, timeout=10):
        """Waits for the stream to end; (status code name, details)."""
        self._reader.join(timeout)
        if self._reader.is_alive():
            raise e2e.TestFailure("%s did not end within %d s" % (self.proc.args, timeout))
        self.stderr = self.status[1]
        return self.status

    def interrupt(self, sig=None, timeout=10):
        self.kill()
        return self.finish(timeout)

    def kill(self):
        self.stream.cancel()
        self.channel.close()


def summary(events):
    """'#3 RINGING calls/c…, #4 ANSWERED calls/c…' for messages."""
    return ", ".join("#%s %s %s%s" % (e.get("sequence"), e.get("type"),
                                      e.get("call", {}).get("name", ""),
                                      (" " + e["call"].get("end_reason", ""))
                                      if e.get("type") == "ENDED" else "")
                     for e in events) or "(none)"


def call_id(call):
    """'calls/c…' -> 'c…'."""
    return call["name"].split("/", 1)[1]


def header_values(message_text, name):
    out = []
    for line in message_text.split("\n\n", 1)[0].splitlines()[1:]:
        if ":" in line:
            n, v = line.split(":", 1)
            if n.strip().lower() == name.lower():
                out.append(v.strip())
    return out


def unique_requests(messages):
    """Drops retransmissions: one request per top Via branch, in order."""
    seen, out = set(), []
    for text in messages:
        via = (header_values(text, "via") + header_values(text, "v") + [""])[0]
        m = re.search(r"branch=([^;\s,]+)", via)
        key = m.group(1) if m else text
        if key not in seen:
            seen.add(key)
            out.append(text)
    return out


def check_digest(message_text, header, password, method="INVITE"):
    """Recomputes the MD5 digest `response` of `header` (Authorization or
    Proxy-Authorization) in a received request; returns its parameters.
    Fails unless it matches `password` (RFC 2617/7616, qop=auth or none)."""
    values = header_values(message_text, header)
    e2e.check(values, "no %s header in:\n%s" % (header, message_text))
    scheme, p = e2e.parse_auth_params(values[0])
    e2e.check(scheme.lower() == "digest", "%s is not Digest: %s" % (header, values[0]))
    e2e.check(p.get("algorithm", "MD5").upper() == "MD5", "%s algorithm: %s" % (header, values[0]))
    md5 = lambda s: hashlib.md5(s.encode()).hexdigest()
    ha1 = md5("%s:%s:%s" % (p["username"], p["realm"], password))
    ha2 = md5("%s:%s" % (method, p["uri"]))
    if p.get("qop"):
        expected = md5("%s:%s:%s:%s:%s:%s" % (ha1, p["nonce"], p["nc"], p["cnonce"], p["qop"], ha2))
    else:
        expected = md5("%s:%s:%s" % (ha1, p["nonce"], ha2))
    e2e.check(p.get("response", "").lower() == expected,
              "%s response does not match the password: %s" % (header, values[0]))
    return p


def dtmf_digits(messages):
    """The digits of the INFO application/dtmf-relay requests received, in order."""
    digits = []
    for text in messages:
        if not text.startswith("INFO "):
            continue
        ctype = " ".join(header_values(text, "content-type") + header_values(text, "c"))
        e2e.check("application/dtmf-relay" in ctype.lower(), "INFO without dtmf-relay:\n" + text)
        body = text.split("\n\n", 1)[1] if "\n\n" in text else ""
        m = re.search(r"^\s*Signal\s*=\s*(\S)", body, re.M | re.I)
        e2e.check(m is not None, "INFO dtmf-relay without Signal:\n" + text)
        digits.append(m.group(1))
    return "".join(digits)


def write_file(workdir, name, text):
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def parse_json(text, what):
    try:
        return json.loads(text)
    except ValueError:
        raise e2e.TestFailure("%s printed no JSON: %r" % (what, text))
