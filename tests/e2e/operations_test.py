#!/usr/bin/env python3
"""Operations on the real binary: the Prometheus endpoint, the SIGTERM drain,
SIGTERM under load, --print-config and invalid configurations, SIGHUP reload.
docs/metrics.md describes what these check.

  --part metrics     sipp registers 200 users (REGISTER -> 401 -> REGISTER ->
                     200); the scrape after minus the scrape before is exact:
                     requests +400, 401 +200, 200 +200, registrations_active
                     200, REGISTERED +200, register_duration_count +400, store
                     commits > 0; one wrong password -> auth_failures
                     {reason="wrong_credentials"} +1; the text parses as the
                     exposition format (every family with # HELP and # TYPE).
  --part drain       a device (a Python UDP socket) registers; an outbound call
                     through the gRPC API (CreateCall over a minimal HTTP/2
                     client, no grpcio needed) rings it; SIGTERM: /readyz 503
                     "draining", gRPC health NOT_SERVING, a new REGISTER and a
                     new INVITE get 503 + Retry-After, the process keeps running
                     while the call rings; after shutdown.grace_period (3 s) the
                     device gets CANCEL and the process exits 0. Then a second
                     SIGTERM during a 60 s drain stops at once.
  --part load        sipp registers 2,000 users at 500/s; SIGTERM after ~600
                     200s; exit 0 within seconds; every user whose 200 sipp
                     received is registered after a restart on the same data
                     directory; every response after SIGTERM is 200/401 (already
                     in progress) or 503 with Retry-After, never 500.
  --part config      --print-config: flags > environment > file, secrets masked;
                     invalid values exit 2 naming the key, and nothing listens.
  --part reload      SIGHUP: a user added to the file registers, log_level
                     debug takes effect, a realm removed from the file stays, a
                     broken file logs "reload failed: configuration kept" and
                     the server goes on serving.

usage: operations_test.py --binary build/bin/switchboard --part metrics|drain|load|config|reload
"""
import argparse
import datetime
import os
import re
import secrets
import select
import signal
import socket
import struct
import subprocess
import time

import api_e2e as api
import switchboard_e2e as e2e

REALM = "ops.switchboard.test"
METRICS_ON = "metrics:\n  listen: \"127.0.0.1:0\"\n"


def poll(what, fn, timeout=10.0, interval=0.05):
    """Calls fn() until it returns something true; returns that."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > deadline:
            raise e2e.TestFailure("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def wait_exit(server, timeout):
    """Waits for the server process; returns its exit status (killed and a
    failure after `timeout`)."""
    try:
        rc = server.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        server.kill()
        raise e2e.TestFailure("switchboard still running %.0f s after SIGTERM" % timeout)
    server._closed()
    return rc


# --------------------------------------------------------------------------
# A minimal gRPC client over cleartext HTTP/2 (prior knowledge), standard
# library only: HPACK literals without Huffman coding on the way out, frames
# parsed on the way in (response headers are not decoded: a unary call
# succeeded when a message arrived). Enough for CreateCall and Health/Check
# without python3-grpcio.


def _varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb_string(field, value):
    data = value.encode() if isinstance(value, str) else value
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def pb_varint(field, value):
    return _varint(field << 3) + _varint(value)


def pb_decode(data):
    """{field: [values]}: varints as int, length-delimited as bytes."""
    out, i = {}, 0
    while i < len(data):
        key, i = _read_varint(data, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _read_varint(data, i)
        elif wire == 2:
            n, i = _read_varint(data, i)
            v, i = data[i:i + n], i + n
        elif wire == 1:
            v, i = data[i:i + 8], i + 8
        elif wire == 5:
            v, i = data[i:i + 4], i + 4
        else:
            raise e2e.TestFailure("protobuf wire type %d" % wire)
        out.setdefault(field, []).append(v)
    return out


def _read_varint(data, i):
    n, shift = 0, 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def _hpack_int(n, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if n < limit:
        return bytes([first | n])
    out = [first | limit]
    n -= limit
    while n >= 128:
        out.append(n % 128 + 128)
        n //= 128
    out.append(n)
    return bytes(out)


def _hpack_literal(name, value):
    # Literal Header Field without Indexing, new name, no Huffman (RFC 7541 6.2.2).
    name, value = name.encode(), value.encode()
    return b"\x00" + _hpack_int(len(name), 7) + name + _hpack_int(len(value), 7) + value


class GrpcH2:
    def __init__(self, address, token=None, timeout=10.0):
        host, port = address.rsplit(":", 1)
        self.authority = address
        self.token = token
        self.timeout = timeout
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.buf = b""
        self.next_stream = 1
        self.sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + self._frame(4, 0, 0, b""))

    @staticmethod
    def _frame(ftype, flags, stream, payload):
        return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
            struct.pack(">I", stream) + payload

    def _read_frame(self, deadline):
        while True:
            if len(self.buf) >= 9:
                n = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) >= 9 + n:
                    ftype, flags = self.buf[3], self.buf[4]
                    stream = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
                    payload = self.buf[9:9 + n]
                    self.buf = self.buf[9 + n:]
                    return ftype, flags, stream, payload
            left = deadline - time.time()
            if left <= 0:
                raise e2e.TestFailure("gRPC: no answer from %s in time" % self.authority)
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise e2e.TestFailure("gRPC: %s closed the connection" % self.authority)
            self.buf += chunk

    def unary(self, path, request=b""):
        """Calls `path` ("/pkg.Service/Method") with a serialized request;
        returns the response message bytes, or None when the call ended
        without one (an error status)."""
        stream = self.next_stream
        self.next_stream += 2
        headers = [(":method", "POST"), (":scheme", "http"), (":path", path),
                   (":authority", self.authority), ("content-type", "application/grpc"),
                   ("te", "trailers")]
        if self.token:
            headers.append(("authorization", "Bearer " + self.token))
        block = b"".join(_hpack_literal(k, v) for k, v in headers)
        body = b"\x00" + struct.pack(">I", len(request)) + request
        self.sock.sendall(self._frame(1, 0x4, stream, block) + self._frame(0, 0x1, stream, body))
        data = b""
        deadline = time.time() + self.timeout
        while True:
            ftype, flags, sid, payload = self._read_frame(deadline)
            if ftype == 4 and not flags & 0x1:  # SETTINGS: acknowledge
                self.sock.sendall(self._frame(4, 0x1, 0, b""))
            elif ftype == 6 and not flags & 0x1:  # PING: answer
                self.sock.sendall(self._frame(6, 0x1, 0, payload))
            elif ftype == 7:
                raise e2e.TestFailure("gRPC: GOAWAY from %s" % self.authority)
            elif sid == stream and ftype == 3:
                raise e2e.TestFailure("gRPC: RST_STREAM on %s" % path)
            elif sid == stream and ftype == 0:
                data += payload
                if payload:  # keep the connection's window open
                    self.sock.sendall(self._frame(8, 0, 0, struct.pack(">I", len(payload))))
                if flags & 0x1:
                    break
            elif sid == stream and ftype == 1 and flags & 0x1:  # trailers
                break
        if len(data) < 5:
            return None
        n = struct.unpack(">I", data[1:5])[0]
        return data[5:5 + n]

    def close(self):
        self.sock.close()


def health_status(address, token):
    """grpc.health.v1 Check(""): 1 SERVING, 2 NOT_SERVING, None on error."""
    c = GrpcH2(address, token, timeout=5)
    try:
        reply = c.unary("/grpc.health.v1.Health/Check", b"")
    finally:
        c.close()
    if reply is None:
        return None
    return pb_decode(reply).get(1, [0])[0]


# --------------------------------------------------------------------------
# A device on a plain UDP socket that answers an INVITE with 100 + 180 and
# never picks up.

SDP = ("v=0\r\no=ops-e2e 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


def recv_request(sock, method, timeout):
    """The next request `method` on `sock` (other requests are skipped)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([sock], [], [], max(0.0, deadline - time.time()))
        if not ready:
            break
        raw, peer = sock.recvfrom(65535)
        text = raw.decode(errors="replace")
        if text.startswith(method + " "):
            return text, peer
    raise e2e.TestFailure("the device received no %s within %.0f s" % (method, timeout))


def header(text, name):
    m = re.search(r"^%s\s*:\s*(.*?)\r?$" % re.escape(name), text.split("\r\n\r\n")[0],
                  re.I | re.M)
    return m.group(1) if m else None


def response_to(request, status, reason, to_tag=None):
    head = request.split("\r\n\r\n")[0].split("\r\n")
    lines = ["SIP/2.0 %d %s" % (status, reason)]
    for line in head[1:]:
        name = line.split(":", 1)[0].strip().lower()
        if name in ("via", "v", "from", "f", "call-id", "i", "cseq"):
            lines.append(line)
        elif name in ("to", "t"):
            lines.append(line + (";tag=%s" % to_tag if to_tag and "tag=" not in line else ""))
    lines += ["Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def options_request(uac_port, realm):
    return ("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s;rport\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:probe@%s>;tag=%s\r\nTo: <sip:%s>\r\n"
            "Call-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n" %
            (realm, e2e.HOST, uac_port, secrets.token_hex(6), realm, secrets.token_hex(4), realm,
             secrets.token_hex(8))).encode()


def invite_request(uac_port, realm, user):
    """A new dialog-creating INVITE (no To tag) from a device."""
    call_id = secrets.token_hex(8)
    return ("INVITE sip:agent@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s;rport\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:%s@%s>;tag=%s\r\nTo: <sip:agent@%s>\r\n"
            "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:%s@%s:%d>\r\n"
            "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s" %
            (realm, e2e.HOST, uac_port, secrets.token_hex(6), user, realm, secrets.token_hex(4),
             realm, call_id, user, e2e.HOST, uac_port, len(SDP), SDP)).encode()


# --------------------------------------------------------------------------
# 1. metrics


def part_metrics(binary):
    work = e2e.temp_dir("ops-metrics")
    n = 200
    users = [("user%d" % k, e2e.random_password()) for k in range(1, n + 1)]
    extra_user = ("wrongpw", e2e.random_password())
    csv = os.path.join(work, "users.csv")
    e2e.write_users_csv(csv, users)
    config = e2e.config_yaml(os.path.join(work, "data"),
                             [e2e.realm_yaml(REALM, users + [extra_user])], extra=METRICS_ON)
    server = e2e.Server(binary, work, config).start()
    port = e2e.metrics_port(server)

    status, body = e2e.http_get(port, "/healthz")
    e2e.check(status == 200 and body.strip() == "ok", "/healthz: %d %r" % (status, body))
    status, body = e2e.http_get(port, "/readyz")
    e2e.check(status == 200 and body.strip() == "ready", "/readyz: %d %r" % (status, body))
    status, _ = e2e.http_get(port, "/nothing")
    e2e.check(status == 404, "/nothing answered %d, expected 404" % status)

    before = e2e.scrape(port)
    e2e.check(before.value("switchboard_build_info", default=None, version=_version(binary)) == 1,
              "switchboard_build_info{version=%r} is not 1" % _version(binary))
    e2e.check(before.value("process_resident_memory_bytes") > 0, "process_resident_memory_bytes 0")
    e2e.check(before.value("process_cpu_seconds_total", default=None) is not None,
              "no process_cpu_seconds_total")
    for name in ("switchboard_calls_active", "switchboard_events_watchers",
                 "process_open_fds", "process_start_time_seconds"):
        e2e.check(name in before.names(), "no %s in the first scrape" % name)
    e2e.check(before.value("switchboard_registrations_active", realm=REALM) == 0,
              "registrations_active before any REGISTER")

    ok, failed, sipp_port, rc = e2e.run_sipp(work, server.udp_port, REALM, csv, n, rate=100)
    e2e.check(ok == n and failed == 0 and rc == 0,
              "sipp: %d successful, %d failed, exit %d (want %d, 0, 0)" % (ok, failed, rc, n))
    retrans = _sipp_retransmissions(work, "u1")
    # Counters move on other threads than the one that sent sipp its last 200
    # (the store's commit thread, the registrar after the send): scrape until
    # every expected figure is reached (at most 10 s), then compare exactly.
    def reached(m):
        d = lambda name, **labels: m.value(name, **labels) - before.value(name, **labels)
        return (d("switchboard_sip_requests_total", method="REGISTER", transport="udp") >= 2 * n
                and d("switchboard_sip_responses_total", method="REGISTER", code="401") >= n
                and d("switchboard_sip_responses_total", method="REGISTER", code="200") >= n
                and d("switchboard_registration_events_total", type="REGISTERED") >= n
                and m.value("switchboard_registrations_active", realm=REALM) >= n
                and d("switchboard_register_duration_seconds_count") >= 2 * n)

    deadline = time.time() + 10
    after = e2e.scrape(port)
    while not reached(after) and time.time() < deadline:
        time.sleep(0.05)
        after = e2e.scrape(port)

    def delta(name, **labels):
        return after.value(name, **labels) - before.value(name, **labels)

    got = {
        "requests REGISTER udp": delta("switchboard_sip_requests_total", method="REGISTER",
                                       transport="udp"),
        "responses REGISTER 401": delta("switchboard_sip_responses_total", method="REGISTER",
                                        code="401"),
        "responses REGISTER 200": delta("switchboard_sip_responses_total", method="REGISTER",
                                        code="200"),
        "registrations_active": after.value("switchboard_registrations_active", realm=REALM),
        "events REGISTERED": delta("switchboard_registration_events_total", type="REGISTERED"),
        "register_duration count": delta("switchboard_register_duration_seconds_count"),
        "retransmissions": delta("switchboard_sip_retransmissions_total"),
        "parse errors": delta("switchboard_sip_parse_errors_total"),
    }
    e2e.log("deltas after %d sipp flows (sipp retransmitted %d): %s" % (n, retrans, got))
    e2e.check(got["requests REGISTER udp"] == 2 * n + retrans,
              "REGISTER requests +%d, expected %d (+ %d sipp retransmissions)" %
              (got["requests REGISTER udp"], 2 * n, retrans))
    if retrans == 0:  # the deterministic case: exact
        e2e.check(got["responses REGISTER 401"] == n and got["responses REGISTER 200"] == n,
                  "responses 401 +%d, 200 +%d, expected %d each" %
                  (got["responses REGISTER 401"], got["responses REGISTER 200"], n))
        e2e.check(got["register_duration count"] == 2 * n,
                  "register_duration_seconds_count +%d, expected %d" %
                  (got["register_duration count"], 2 * n))
        e2e.check(got["retransmissions"] == 0, "server counted %d retransmissions, sipp sent none"
                  % got["retransmissions"])
    else:  # a retransmission is answered again (replayed) or absorbed
        for code in ("401", "200"):
            v = got["responses REGISTER " + code]
            e2e.check(n <= v <= n + retrans, "responses %s +%d, expected %d..%d" %
                      (code, v, n, n + retrans))
        e2e.check(got["retransmissions"] == retrans, "server counted %d retransmissions, sipp %d"
                  % (got["retransmissions"], retrans))
    e2e.check(got["registrations_active"] == n, "registrations_active{realm=%s} = %s, expected %d"
              % (REALM, got["registrations_active"], n))
    e2e.check(got["events REGISTERED"] == n, "REGISTERED events +%d, expected %d" %
              (got["events REGISTERED"], n))
    e2e.check(got["parse errors"] == 0, "parse errors +%d" % got["parse errors"])
    for code in ("403", "500", "503"):
        e2e.check(delta("switchboard_sip_responses_total", method="REGISTER", code=code) == 0,
                  "REGISTER answered %s during the sipp run" % code)
    commits = delta("switchboard_store_operation_seconds_count", store="sqlite", op="commit")
    e2e.check(0 < commits <= n, "store commits +%d, expected 1..%d (group commit)" % (commits, n))
    e2e.check(delta("switchboard_store_operation_seconds_sum", store="sqlite", op="commit") > 0,
              "store commit _sum did not grow")
    e2e.check(delta("switchboard_register_duration_seconds_sum") > 0, "register _sum did not grow")
    # Histogram buckets are cumulative and consistent with _count.
    buckets = sorted(((float(dict(ls)["le"]), v) for (name, ls), v in after.samples.items()
                      if name == "switchboard_register_duration_seconds_bucket"))
    e2e.check(len(buckets) == 17 and all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])),
              "register_duration buckets not cumulative: %s" % buckets)

    # One wrong password: auth_failures{wrong_credentials} +1.
    uac = e2e.SipUac(server.udp_port)
    final, challenge = uac.register(extra_user[0], "not-" + extra_user[1], REALM,
                                    "<sip:%s@127.0.0.1:5999>" % extra_user[0], expires=300)
    uac.close()
    e2e.check(challenge is not None and challenge.status == 401 and final.status != 200,
              "wrong password answered %s" % final.status_line)
    want = {"401": 1}  # the challenge, then the final answer (a fresh 401 or a 403)
    want[str(final.status)] = want.get(str(final.status), 0) + 1

    def settled(m):
        return (m.value("switchboard_auth_failures_total", realm=REALM,
                        reason="wrong_credentials") >= 1 and
                all(m.value("switchboard_sip_responses_total", method="REGISTER", code=code) -
                    after.value("switchboard_sip_responses_total", method="REGISTER", code=code)
                    >= count for code, count in want.items()))

    deadline = time.time() + 10
    last = e2e.scrape(port)
    while not settled(last) and time.time() < deadline:
        time.sleep(0.05)
        last = e2e.scrape(port)
    failures = {dict(ls).get("reason"): v for (name, ls), v in last.samples.items()
                if name == "switchboard_auth_failures_total"}
    e2e.check(failures == {"wrong_credentials": 1}, "auth failures %s, expected one "
              "wrong_credentials" % failures)
    for code, count in want.items():
        d = (last.value("switchboard_sip_responses_total", method="REGISTER", code=code) -
             after.value("switchboard_sip_responses_total", method="REGISTER", code=code))
        e2e.check(d == count, "wrong password: REGISTER %s +%d, expected +%d" % (code, d, count))
    d = (last.value("switchboard_sip_requests_total", method="REGISTER", transport="udp") -
         after.value("switchboard_sip_requests_total", method="REGISTER", transport="udp"))
    e2e.check(d == 2, "wrong password: REGISTER requests +%d, expected 2" % d)
    e2e.check(last.value("switchboard_registrations_active", realm=REALM) == n,
              "registrations_active changed after a failed REGISTER")
    e2e.check(last.value("switchboard_registration_events_total", type="AUTH_FAILED") == 0,
              "an auth failure was counted as a registration event")
    e2e.check(extra_user[1] not in last.text, "a password appears in /metrics")
    status, _ = e2e.http_get(port, "/healthz")
    e2e.check(status == 200, "/healthz %d after the run" % status)
    e2e.log("metrics: exact deltas, auth failure, format ok")
    e2e.check(server.stop() == 0, "switchboard did not exit 0 on SIGTERM")


def _version(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split()
    return out[-1] if out else "?"


def _sipp_retransmissions(work, transport):
    """The Retransmissions(C) column of run_sipp's last -trace_stat row."""
    stat = os.path.join(work, "sipp_stat_%s.csv" % transport)
    with open(stat) as f:
        rows = [line.rstrip("\n").split(";") for line in f if line.strip()]
    col = {name: i for i, name in enumerate(rows[0])}
    return int(rows[-1][col["Retransmissions(C)"]])


# --------------------------------------------------------------------------
# 2. drain


def part_drain(binary):
    work = e2e.temp_dir("ops-drain")
    device_user, device_pw = "alice", e2e.random_password()
    late_user, late_pw = "bob", e2e.random_password()

    def config(grace):
        return METRICS_ON + "shutdown:\n  grace_period: %d\n" % grace

    realms = [e2e.realm_yaml(REALM, [(device_user, device_pw), (late_user, late_pw)])]
    server = api.ApiServer(binary, work, realms=realms, extra=config(3))

    for round_no, (grace, second_sigterm) in enumerate(((3, False), (60, True)), 1):
        if round_no == 2:
            with open(server.config_path) as f:
                text = f.read()
            with open(server.config_path, "w") as f:
                f.write(text.replace("grace_period: 3\n", "grace_period: %d\n" % grace))
        server.start()
        port = e2e.metrics_port(server)
        grpc = server.grpc_address
        poll("gRPC health SERVING", lambda: _health_or_none(grpc, server.admin_token) == 1)
        e2e.check(e2e.http_get(port, "/readyz")[0] == 200, "/readyz not 200 before SIGTERM")

        # The device registers from its own socket: the call goes to it.
        device = e2e.SipUac(server.udp_port)
        final, _ = device.register(device_user, device_pw, REALM,
                                   "<sip:%s@%s:%d>" % (device_user, e2e.HOST, device.port),
                                   expires=300)
        e2e.check(final.status == 200, "device REGISTER: %s" % final.status_line)

        c = GrpcH2(grpc, server.admin_token)
        reply = c.unary("/switchboard.v1.CallService/CreateCall",
                        pb_string(1, "sip:%s@%s" % (device_user, REALM)) + pb_string(6, SDP) +
                        pb_string(9, "ops-drain-%d" % round_no))
        c.close()
        e2e.check(reply is not None, "CreateCall returned no call (see the server log)")
        call_name = pb_decode(reply)[1][0].decode()
        invite, peer = recv_request(device.sock, "INVITE", 10)
        tag = secrets.token_hex(4)
        device.sock.sendto(response_to(invite, 100, "Trying"), peer)
        device.sock.sendto(response_to(invite, 180, "Ringing", tag), peer)
        poll("calls_active 1", lambda: e2e.scrape(port).value("switchboard_calls_active") == 1)
        e2e.log("round %d: call %s ringing at the device; SIGTERM (grace %d s)" %
                (round_no, call_name, grace))

        t_term = time.time()
        server.proc.send_signal(signal.SIGTERM)
        status, body = poll("/readyz 503", lambda: (lambda r: r if r[0] != 200 else None)(
            e2e.http_get(port, "/readyz")), timeout=5, interval=0.02)
        e2e.check(status == 503 and body.strip() == "not ready: draining",
                  "/readyz during the drain: %d %r" % (status, body))
        e2e.check(e2e.http_get(port, "/healthz")[0] == 200, "/healthz not 200 during the drain")
        e2e.check(_health_or_none(grpc, server.admin_token) == 2,
                  "gRPC health is not NOT_SERVING during the drain")

        # New REGISTERs and new INVITEs: 503 with Retry-After.
        late = e2e.SipUac(server.udp_port)
        first, challenge = late.register(late_user, late_pw, REALM,
                                         "<sip:%s@%s:%d>" % (late_user, e2e.HOST, late.port),
                                         expires=300)
        e2e.check(challenge is None and first.status == 503 and first.first("retry-after"),
                  "REGISTER during the drain: %s, Retry-After %s" %
                  (first.status_line, first.first("retry-after")))
        late.sock.sendto(invite_request(late.port, REALM, late_user),
                         ("127.0.0.1", server.udp_port))
        answer = _final_response(late.sock, 5)
        e2e.check(answer.status == 503 and answer.first("retry-after"),
                  "INVITE during the drain: %s, Retry-After %s" %
                  (answer.status_line, answer.first("retry-after")))
        # OPTIONS (not new work) is still answered normally.
        late.sock.sendto(options_request(late.port, REALM), ("127.0.0.1", server.udp_port))
        answer = _final_response(late.sock, 5)
        e2e.check(answer.status == 200, "OPTIONS during the drain: %s" % answer.status_line)
        late.close()
        e2e.check(server.proc.poll() is None, "switchboard exited while a call was ringing")
        # (a response is counted just after it is sent: poll)
        poll("the REGISTER 503 in /metrics", lambda: e2e.scrape(port).value(
            "switchboard_sip_responses_total", method="REGISTER", code="503") >= 1, timeout=5)
        e2e.check(e2e.scrape(port).value("switchboard_sip_responses_total", method="REGISTER",
                                         code="503") == 1,
                  "REGISTER 503 not counted once in /metrics")

        if second_sigterm:
            time.sleep(0.5)
            e2e.check(server.proc.poll() is None, "switchboard exited before the second SIGTERM")
            t2 = time.time()
            server.proc.send_signal(signal.SIGTERM)
            cancel, cpeer = recv_request(device.sock, "CANCEL", 5)
            _answer_cancel(device.sock, invite, peer, cancel, cpeer, tag)
            rc = wait_exit(server, 5)
            took = time.time() - t2
            e2e.check(rc == 0 and took < 5, "second SIGTERM: exit %s after %.1f s" % (rc, took))
        else:
            cancel, cpeer = recv_request(device.sock, "CANCEL", grace + 10)
            waited = time.time() - t_term
            e2e.check(waited >= grace - 0.5,
                      "CANCEL %.1f s after SIGTERM, before the %d s grace period" % (waited, grace))
            _answer_cancel(device.sock, invite, peer, cancel, cpeer, tag)
            rc = wait_exit(server, 10)
        e2e.check(rc == 0, "switchboard exited %s after the drain" % rc)
        stopping = [e for e in server.log_lines() if e.get("msg") == "stopping"]
        e2e.check(stopping and stopping[0].get("calls_left") == 1 and
                  stopping[0].get("forced") is second_sigterm,
                  "stopping log line: %s" % stopping)
        e2e.check(header(cancel, "Call-ID") == header(invite, "Call-ID"),
                  "the CANCEL is not for the ringing INVITE")
        device.close()
        e2e.log("round %d: drained, CANCEL sent, exit 0 after %.1f s" %
                (round_no, time.time() - t_term))


def _answer_cancel(sock, invite, peer, cancel, cpeer, tag):
    """200 to the CANCEL, 487 to the INVITE (RFC 3261 9.2)."""
    sock.sendto(response_to(cancel, 200, "OK", tag), cpeer)
    sock.sendto(response_to(invite, 487, "Request Terminated", tag), peer)


def _health_or_none(address, token):
    try:
        return health_status(address, token)
    except (e2e.TestFailure, OSError):
        return None


def _final_response(sock, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([sock], [], [], max(0.0, deadline - time.time()))
        if not ready:
            break
        r = e2e.Response(sock.recvfrom(65535)[0])
        if r.status >= 200:
            return r
    raise e2e.TestFailure("no final response within %.0f s" % timeout)


# --------------------------------------------------------------------------
# 3. SIGTERM under load


SEPARATOR = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d)\s+(\d\d:\d\d:\d\d(?:\.\d+)?)")


def sipp_messages(path):
    """sipp -trace_msg: [(time, "sent"|"received", text)]."""
    out, cur = [], None
    with open(path, errors="replace") as f:
        for line in f:
            m = SEPARATOR.match(line)
            if m:
                if cur:
                    out.append(cur)
                stamp = datetime.datetime.strptime(m.group(1) + " " + m.group(2),
                                                   "%Y-%m-%d %H:%M:%S.%f"
                                                   if "." in m.group(2) else "%Y-%m-%d %H:%M:%S")
                cur = [stamp.timestamp(), None, ""]
                continue
            if cur is None:
                continue
            if cur[1] is None:
                if " message sent" in line:
                    cur[1] = "sent"
                elif " message received" in line:
                    cur[1] = "received"
                continue
            cur[2] += line
    if cur:
        out.append(cur)
    return [(t, d, text.strip().replace("\r\n", "\n")) for t, d, text in out if d]


def part_load(binary):
    work = e2e.temp_dir("ops-load")
    n = 2000
    users = [("user%d" % k, e2e.random_password()) for k in range(1, n + 1)]
    password = dict(users)
    csv = os.path.join(work, "users.csv")
    e2e.write_users_csv(csv, users)
    config = e2e.config_yaml(os.path.join(work, "data"), [e2e.realm_yaml(REALM, users)],
                             extra=METRICS_ON)
    server = e2e.Server(binary, work, config).start()
    port = e2e.metrics_port(server)
    sipp_port = e2e.free_port()
    msg_path = os.path.join(work, "sipp.msg")
    cmd = ["sipp", "%s:%d" % (e2e.HOST, server.udp_port), "-sf", e2e.SIPP_SCENARIO,
           "-inf", csv, "-key", "sipdomain", REALM, "-auth_uri", REALM,
           "-i", e2e.HOST, "-p", str(sipp_port), "-t", "u1", "-r", "500", "-rp", "1000",
           "-m", str(n), "-l", "400", "-timeout", "40s", "-buff_size", "4194304",
           "-nd", "-nostdin", "-trace_msg", "-message_file", msg_path]
    e2e.require_tool("sipp", "sip-tester")
    e2e.log("running in the background: " + " ".join(cmd))
    out = open(os.path.join(work, "sipp.out"), "wb")
    sipp = subprocess.Popen(cmd, cwd=work, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, preexec_fn=e2e.die_with_parent)
    try:
        # SIGTERM once ~600 registrations are acknowledged (about a third).
        poll("600 REGISTERED", lambda: e2e.scrape(port).value(
            "switchboard_registration_events_total", type="REGISTERED") >= 600,
            timeout=30, interval=0.02)
        t_term = time.time()
        server.proc.send_signal(signal.SIGTERM)
        rc = wait_exit(server, 10)
        t_exit = time.time()
        e2e.check(rc == 0, "switchboard exited %s on SIGTERM under load" % rc)
        e2e.log("SIGTERM under load: exit 0 after %.2f s" % (t_exit - t_term))
        time.sleep(1.0)  # what sipp sends after the exit goes nowhere
    finally:
        if sipp.poll() is None:
            sipp.send_signal(signal.SIGUSR1)  # sipp: dump and quit
            try:
                sipp.wait(5)
            except subprocess.TimeoutExpired:
                sipp.kill()
                sipp.wait()
        out.close()

    # What sipp saw: per user, every response; per request, when first sent.
    messages = sipp_messages(msg_path)
    e2e.check(messages, "sipp's message log %s is empty" % msg_path)
    first_sent, answered = {}, set()
    acked, statuses, after_term = set(), {}, []
    for t, direction, text in messages:
        call_id = header(text, "Call-ID") or header(text, "i")
        cseq = header(text, "CSeq") or ""
        key = (call_id, cseq.split()[0] if cseq else "")
        if direction == "sent" and text.startswith("REGISTER "):
            first_sent.setdefault(key, t)
            continue
        if direction != "received" or not text.startswith("SIP/2.0 "):
            continue
        status = int(text.split()[1])
        to = header(text, "To") or header(text, "t") or ""
        um = re.search(r"sip:([^@>;]+)@", to)
        user = um.group(1) if um else None
        statuses[status] = statuses.get(status, 0) + 1
        answered.add(key)
        if status == 200:
            acked.add(user)
        if status == 503:
            e2e.check(header(text, "Retry-After"), "a 503 without Retry-After:\n%s" % text)
            e2e.check(t >= t_term - 0.05, "a 503 %.3f s before SIGTERM" % (t_term - t))
        if t > t_term:
            after_term.append(status)
    e2e.log("sipp received %s; %d users acknowledged; after SIGTERM: %s" %
            (statuses, len(acked), {s: after_term.count(s) for s in set(after_term)}))
    e2e.check(set(statuses) <= {401, 200, 503},
              "unexpected statuses (only 401, 200, 503 are right): %s" % statuses)
    e2e.check(300 <= len(acked) < n, "%d users acknowledged: SIGTERM did not come mid-run"
              % len(acked))
    # A request first sent well before SIGTERM had time to be answered
    # (sipp retransmits every 500 ms): none may be left unanswered.
    unanswered = [k for k, t in first_sent.items() if k not in answered and t < t_term - 2.0]
    e2e.check(not unanswered, "%d REGISTERs sent > 2 s before SIGTERM were never answered: %s"
              % (len(unanswered), unanswered[:5]))
    stopped = [e for e in server.log_lines() if e.get("msg") == "stopped"]
    e2e.check(stopped, "no \"stopped\" log line")

    # Restart on the same data directory: every acknowledged user is there.
    server.start()
    loaded = [e for e in server.log_lines() if e.get("msg") == "bindings loaded"]
    bindings = loaded[0]["bindings"] if loaded else -1
    e2e.check(bindings >= len(acked), "%d bindings loaded, %d acknowledged" %
              (bindings, len(acked)))
    port = e2e.metrics_port(server)
    active = e2e.scrape(port).value("switchboard_registrations_active", realm=REALM)
    e2e.check(active == bindings, "registrations_active %s after the restart, %d loaded" %
              (active, bindings))
    uac = e2e.SipUac(server.udp_port)
    missing = []
    for user in sorted(acked):
        b = uac.query(user, password[user], REALM)
        want = "sip:%s@%s:%d" % (user, e2e.HOST, sipp_port)
        if not (len(b) == 1 and list(b)[0].startswith(want)):
            missing.append((user, b))
    started = {m.group(1) for _, d, text in messages if d == "sent"
               for m in [re.search(r"^From:.*?sip:([^@>;]+)@", text, re.M)] if m}
    never = [u for u, _ in users if u not in started][:20]
    extra = [u for u in never if uac.query(u, password[u], REALM)]
    uac.close()
    e2e.check(not missing, "%d acknowledged users lost their binding: %s" %
              (len(missing), missing[:5]))
    e2e.check(not extra, "users sipp never sent have bindings: %s" % extra)
    e2e.log("all %d acknowledged registrations are back after the restart (%d loaded)" %
            (len(acked), bindings))
    e2e.check(server.stop() == 0, "unclean stop after the restart")


# --------------------------------------------------------------------------
# 4. config


def run(binary, args, env_extra=None, timeout=10):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(env_extra or {})
    r = subprocess.run([binary] + args, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout, env=env)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def yaml_value(text, path):
    """The scalar at `path` ("a.b") of --print-config's block YAML (2-space indents)."""
    keys = path.split(".")
    depth = 0
    for line in text.split("\n"):
        indent = len(line) - len(line.lstrip(" "))
        stripped = line.strip()
        if indent != depth * 2 or ":" not in stripped or stripped.startswith("- "):
            continue
        k, _, v = stripped.partition(":")
        if k == keys[depth]:
            if depth == len(keys) - 1:
                return v.strip().strip('"')
            depth += 1
    return None


def port_free(port):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((e2e.HOST, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def part_config(binary):
    work = e2e.temp_dir("ops-config")
    secret = "nonce-" + secrets.token_urlsafe(24)
    pw = "pw-" + secrets.token_urlsafe(12)
    sip_port = e2e.free_udp_tcp_port()
    metrics_port = e2e.free_port(socket.SOCK_STREAM)

    def write(name, body):
        path = os.path.join(work, name)
        with open(path, "w") as f:
            f.write(body)
        return path

    base = ("sip:\n  listen: [\"udp:127.0.0.1:%d\", \"tcp:127.0.0.1:%d\"]\n"
            "grpc:\n  listen: off\n"
            "data_dir: %s\nlog_level: warn\nthreads: 1\n"
            "nonce:\n  secret: \"%s\"\n"
            "metrics:\n  listen: \"127.0.0.1:%d\"\n"
            "shutdown:\n  grace_period: 7\n"
            "realms:\n  - name: acme.test\n    users:\n      - {username: alice, password: \"%s\"}\n"
            % (sip_port, sip_port, os.path.join(work, "file-dir"), secret, metrics_port, pw))
    good = write("good.yaml", base)

    # file only
    rc, out, err = run(binary, ["--config", good, "--print-config"])
    e2e.check(rc == 0, "--print-config exited %d: %s" % (rc, err))
    expect = {"data_dir": os.path.join(work, "file-dir"), "log_level": "warn", "threads": "1",
              "metrics.listen": "127.0.0.1:%d" % metrics_port, "shutdown.grace_period": "7",
              "grpc.listen": "off", "nonce.secret": "<redacted>"}
    for path, want in expect.items():
        e2e.check(yaml_value(out, path) == want, "file: %s = %r, expected %r\n%s" %
                  (path, yaml_value(out, path), want, out))
    e2e.check(secret not in out and pw not in out and secret not in err and pw not in err,
              "--print-config shows a secret:\n%s" % out)
    e2e.check(out.count("<redacted>") == 2, "expected the nonce secret and alice's password "
              "redacted:\n%s" % out)
    e2e.check(port_free(sip_port) and port_free(metrics_port), "--print-config bound a port")

    # env over file
    env = {"SWITCHBOARD_DATA_DIR": os.path.join(work, "env-dir"),
           "SWITCHBOARD_LOG_LEVEL": "error", "SWITCHBOARD_METRICS_LISTEN": "127.0.0.1:19999",
           "SWITCHBOARD_NONCE_SECRET": "env-" + secret}
    rc, out, err = run(binary, ["--config", good, "--print-config"], env)
    e2e.check(rc == 0, "--print-config with env exited %d: %s" % (rc, err))
    for path, want in {"data_dir": env["SWITCHBOARD_DATA_DIR"], "log_level": "error",
                       "metrics.listen": "127.0.0.1:19999", "threads": "1",
                       "nonce.secret": "<redacted>"}.items():
        e2e.check(yaml_value(out, path) == want, "env: %s = %r, expected %r" %
                  (path, yaml_value(out, path), want))
    e2e.check(secret not in out, "the environment's nonce secret is shown")

    # flags over env
    rc, out, err = run(binary, ["--config", good, "--print-config",
                                "--data-dir", os.path.join(work, "flag-dir"),
                                "--log-level", "debug", "--metrics-listen", "127.0.0.1:18888",
                                "--threads", "3", "--sip-listen", "udp:127.0.0.1:0"], env)
    e2e.check(rc == 0, "--print-config with flags exited %d: %s" % (rc, err))
    for path, want in {"data_dir": os.path.join(work, "flag-dir"), "log_level": "debug",
                       "metrics.listen": "127.0.0.1:18888", "threads": "3"}.items():
        e2e.check(yaml_value(out, path) == want, "flags: %s = %r, expected %r" %
                  (path, yaml_value(out, path), want))
    e2e.check("udp:127.0.0.1:0" in out and "tcp:127.0.0.1:%d" % sip_port not in out,
              "--sip-listen did not replace the file's list:\n%s" % out)
    rc, out, _ = run(binary, ["--config", good, "--print-config", "--metrics-listen", "off"])
    e2e.check(rc == 0 and yaml_value(out, "metrics.listen") in ("off", ""),
              "--metrics-listen off: metrics.listen = %r" % yaml_value(out, "metrics.listen"))

    # Invalid configurations: exit 2, file:line: key, nothing bound.
    bad = [
        ("max_calls_zero.yaml", base + "calls:\n  max_calls: 0\n", "calls.max_calls"),
        ("unknown_key.yaml", base.replace("metrics:\n  listen:", "metrics:\n  listn:"),
         "metrics.listn"),
        ("metrics_host.yaml", base.replace("\"127.0.0.1:%d\"\nshutdown" % metrics_port,
                                           "\"localhost:1\"\nshutdown"), "metrics.listen"),
        ("grace_negative.yaml", base.replace("grace_period: 7", "grace_period: -1"),
         "shutdown.grace_period"),
    ]
    for name, text, key in bad:
        path = write(name, text)
        line_of = {"calls.max_calls": text.count("\n"),
                   "metrics.listn": text.split("listn:")[0].count("\n") + 1,
                   "metrics.listen": text.split("localhost:1")[0].count("\n") + 1,
                   "shutdown.grace_period": text.split("grace_period: -1")[0].count("\n") + 1}[key]
        for extra_args in ([], ["--print-config"]):
            rc, out, err = run(binary, ["--config", path] + extra_args)
            prefix = "switchboard: %s:%d: %s: " % (path, line_of, key)
            e2e.check(rc == 2 and err.startswith(prefix),
                      "%s %s: exit %d, stderr %r; expected 2 and %r" %
                      (name, " ".join(extra_args), rc, err.strip(), prefix))
            e2e.check(out == "", "%s: printed on stdout: %r" % (name, out))
            e2e.check(secret not in err and pw not in err, "%s: a secret in the message" % name)
        e2e.check(port_free(sip_port) and port_free(metrics_port),
                  "%s: a port was left bound" % name)
        e2e.log("%s -> %s" % (name, err.strip()))
    rc, _, err = run(binary, ["--config", good], {"SWITCHBOARD_METRICS_LISTEN": "nonsense"})
    e2e.check(rc == 2 and "SWITCHBOARD_METRICS_LISTEN" in err,
              "bad SWITCHBOARD_METRICS_LISTEN: exit %d %r" % (rc, err))
    rc, _, err = run(binary, ["--config", good, "--metrics-listen", "127.0.0.1"])
    e2e.check(rc == 2 and "--metrics-listen" in err, "bad --metrics-listen: exit %d %r" % (rc, err))
    e2e.check(port_free(sip_port), "the SIP port was bound by a failed start")

    # The good file really starts, with the metrics port it printed.
    # (log_level info on the command line: the server reports "started" at info)
    server = e2e.Server(binary, work, base, name="good-run").start(args=["--log-level", "info"])
    status, body = e2e.http_get(metrics_port, "/readyz")
    e2e.check(status == 200, "/readyz on the configured port: %d %r" % (status, body))
    e2e.check(server.stop() == 0, "unclean stop")
    e2e.check(secret not in server.log_text() and pw not in server.log_text(),
              "a secret in the log")


# --------------------------------------------------------------------------
# 5. reload


def part_reload(binary):
    work = e2e.temp_dir("ops-reload")
    alice, bob, carol = (("alice", e2e.random_password()), ("bob", e2e.random_password()),
                         ("carol", e2e.random_password()))
    other = "other.switchboard.test"
    data = os.path.join(work, "data")

    def config(users, log_level, with_other=True):
        realms = [e2e.realm_yaml(REALM, users)]
        if with_other:
            realms.append(e2e.realm_yaml(other, [carol]))
        return e2e.config_yaml(data, realms, log_level=log_level, extra=METRICS_ON)

    server = e2e.Server(binary, work, config([alice], "info"))
    nonce_line = [l for l in open(server.config_path) if l.strip().startswith("secret:")][0]
    server.start()
    port = e2e.metrics_port(server)
    uac = e2e.SipUac(server.udp_port)

    def register(user, password, realm=REALM):
        final, _ = uac.register(user, password, realm, "<sip:%s@127.0.0.1:5999>" % user,
                                expires=300)
        return final.status

    def garbage():
        before = e2e.scrape(port).value("switchboard_sip_parse_errors_total")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"this is not SIP\r\n\r\n", (e2e.HOST, server.udp_port))
        s.close()
        poll("the parse error counted", lambda: e2e.scrape(port).value(
            "switchboard_sip_parse_errors_total") > before)

    def reloads(msg):
        return [e for e in server.log_lines() if e.get("msg") == msg]

    e2e.check(register(*alice) == 200, "alice cannot register")
    e2e.check(register(*bob) != 200, "bob registered before he was in the file")
    e2e.check(register(*carol, realm=other) == 200, "carol cannot register")
    garbage()
    e2e.check(not [e for e in server.log_lines() if e.get("level") == "debug"],
              "debug lines at log_level info")

    # Reload 1: bob added, log_level debug, realm `other` removed from the file.
    text = config([alice, bob], "debug", with_other=False)
    text = re.sub(r"^\s*secret:.*\n", nonce_line.replace("\\", "\\\\"), text, flags=re.M)
    with open(server.config_path, "w") as f:
        f.write(text)
    server.proc.send_signal(signal.SIGHUP)
    done = poll("configuration reloaded", lambda: reloads("configuration reloaded"))
    e2e.log("reloaded: %s" % done[0])
    e2e.check(done[0].get("log_level") == "debug" and done[0].get("users_written") == 1 and
              done[0].get("realms") == 1,
              "reload line: %s (expected log_level debug, 1 realm, 1 user written)" % done[0])
    e2e.check(register(*bob) == 200, "bob cannot register after the reload")
    e2e.check(register(*alice) == 200, "alice cannot register after the reload")
    e2e.check(register(*carol, realm=other) == 200,
              "carol's realm was deleted by removing it from the file (it must stay)")
    garbage()
    poll("a debug line", lambda: [e for e in server.log_lines()
                                  if e.get("level") == "debug" and
                                  e.get("msg") == "unparsable message"])

    # Reload 2: a broken file changes nothing.
    with open(server.config_path, "w") as f:
        f.write(text.replace("realms:\n", "realms: [\n"))
    server.proc.send_signal(signal.SIGHUP)
    failed = poll("reload failed", lambda: reloads("reload failed: configuration kept"))
    e2e.check(failed[0].get("level") == "error" and failed[0].get("error"),
              "reload failed line: %s" % failed[0])
    e2e.check(len(reloads("configuration reloaded")) == 1, "a broken file was applied")
    e2e.check(server.proc.poll() is None, "switchboard exited on a broken reload")
    e2e.check(register(*alice) == 200 and register(*bob) == 200,
              "registrations fail after a broken reload")
    e2e.check(e2e.http_get(port, "/readyz")[0] == 200, "/readyz not 200 after a broken reload")
    n_debug = len([e for e in server.log_lines() if e.get("msg") == "unparsable message"])
    garbage()
    poll("debug still on", lambda: len([e for e in server.log_lines()
                                        if e.get("msg") == "unparsable message"]) > n_debug)

    # Reload 3: back to info, bob removed from the file (he stays in the store).
    with open(server.config_path, "w") as f:
        f.write(text.replace("log_level: debug", "log_level: info"))
    server.proc.send_signal(signal.SIGHUP)
    poll("second reload", lambda: len(reloads("configuration reloaded")) == 2)
    n_debug = len([e for e in server.log_lines() if e.get("level") == "debug"])
    garbage()
    e2e.check(len([e for e in server.log_lines() if e.get("level") == "debug"]) == n_debug,
              "debug lines after going back to info")
    uac.close()
    e2e.check(server.stop() == 0, "unclean stop")
    for _, password in (alice, bob, carol):
        e2e.check(password not in server.log_text(), "a password in the log")


PARTS = {"metrics": part_metrics, "drain": part_drain, "load": part_load,
         "config": part_config, "reload": part_reload}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--part", choices=sorted(PARTS), required=True)
    args = ap.parse_args()
    e2e.main_wrapper(lambda: PARTS[args.part](args.binary))


if __name__ == "__main__":
    main()
