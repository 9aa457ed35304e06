"""Helpers for the end-to-end tests: run the real switchboard binary, and a
tiny SIP user agent that registers with Digest authentication.

Every test script builds on three things here:

  * Server: writes a YAML configuration into a temporary directory, starts
    build/bin/switchboard on 127.0.0.1 port 0 (the kernel picks free ports;
    the actual ones are read from the server's "listening" JSON log lines),
    and stops it by PID (SIGTERM, or SIGKILL for the durability test).
  * SipUac: a UDP user agent on 127.0.0.1 that sends REGISTER, answers a
    401/407 digest challenge (MD5, SHA-256 or SHA-512-256, qop=auth) with
    hashlib, and parses the Contact bindings of a 200 OK.
  * small utilities: free ports, tool checks, temporary directories that are
    removed at exit, assertions that print the server's log on failure.

Standard library only (Debian's /usr/bin/python3, no pip).
"""

import atexit
import hashlib
import json
import os
import random
import re
import secrets
import select
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"


# --------------------------------------------------------------------------
# Generic utilities


class TestFailure(Exception):
    pass


def log(msg):
    print("[e2e] " + msg, flush=True)


def check(condition, message):
    """Fails the test with `message` unless `condition` holds."""
    if not condition:
        raise TestFailure(message)


def require_tool(name, package):
    path = shutil.which(name)
    if not path:
        raise TestFailure("%s not found: install the Debian package %s (make deps)" % (name, package))
    return path


def die_with_parent():
    """preexec_fn for child processes: SIGKILL them when this test process
    dies, even if it is killed (a ctest timeout) before it can clean up."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def temp_dir(prefix):
    """A temporary directory removed when the test process exits."""
    d = tempfile.mkdtemp(prefix="switchboard-e2e-%s-" % prefix)
    atexit.register(shutil.rmtree, d, True)
    return d


def free_port(kind=socket.SOCK_DGRAM):
    """A port that was free a moment ago on 127.0.0.1 (for clients that need
    a fixed local port: sipp, baresip). The kernel does not hand out the same
    ephemeral port again at once, so the race is small."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def random_password(n=16):
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


def yaml_str(s):
    """A double-quoted YAML scalar."""
    return json.dumps(s)


def main_wrapper(test):
    """Runs test() and turns the outcome into an exit status for ctest."""
    started = time.time()
    try:
        test()
    except TestFailure as e:
        log("FAIL: %s" % e)
        for server in list(Server.running):
            server.dump_log()
        sys.exit(1)
    finally:
        for server in list(Server.running):
            server.kill()
    log("PASS (%.1f s)" % (time.time() - started))
    sys.exit(0)


# --------------------------------------------------------------------------
# The server


def realm_yaml(name, users, challenge=401, algorithms=("MD5",), extra=None):
    """One entry of `realms:`. `users` is a list of (username, password)."""
    lines = [
        "  - name: %s" % yaml_str(name),
        "    challenge: %d" % challenge,
        "    algorithms: [%s]" % ", ".join(algorithms),
    ]
    for k, v in (extra or {}).items():
        lines.append("    %s: %s" % (k, v))
    lines.append("    users:")
    for user, password in users:
        lines.append("      - {username: %s, password: %s}" % (yaml_str(user), yaml_str(password)))
    return "\n".join(lines) + "\n"


def config_yaml(data_dir, realms, listen=("udp:127.0.0.1:0", "tcp:127.0.0.1:0"), threads=2,
                log_level="info", extra="", grpc_listen="127.0.0.1:0"):
    """The server's YAML. The gRPC API listens on a free port by default (its
    own default, 127.0.0.1:50051, would collide between tests running in
    parallel); grpc_listen=None leaves the grpc: section to `extra`."""
    text = "sip:\n  listen: [%s]\n" % ", ".join(yaml_str(l) for l in listen)
    if grpc_listen:
        text += "grpc:\n  listen: %s\n" % yaml_str(grpc_listen)
    text += "data_dir: %s\n" % yaml_str(data_dir)
    text += "log_level: %s\nthreads: %d\n" % (log_level, threads)
    text += "nonce:\n  secret: %s\n" % yaml_str(secrets.token_urlsafe(32))
    text += extra
    text += "realms:\n" + "".join(realms)
    return text


class Server:
    """The real switchboard binary, started with a configuration file."""

    running = set()

    def __init__(self, binary, workdir, config_text, name="switchboard"):
        self.binary = binary
        self.workdir = workdir
        self.config_path = os.path.join(workdir, name + ".yaml")
        with open(self.config_path, "w") as f:
            f.write(config_text)
        os.chmod(self.config_path, 0o600)
        self.log_path = os.path.join(workdir, name + ".log")
        self.proc = None
        self.udp_port = None
        self.tcp_port = None
        self.starts = 0

    def start(self, args=(), env=None, timeout=30):
        self.starts += 1
        self.udp_port = self.tcp_port = None
        self._log_offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        self._log = open(self.log_path, "ab")
        if env is None:  # hermetic: no SWITCHBOARD_* from the caller's shell
            env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
        self.proc = subprocess.Popen([self.binary, "--config", self.config_path] + list(args),
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                     env=env, preexec_fn=die_with_parent)
        Server.running.add(self)
        deadline = time.time() + timeout
        while time.time() < deadline:
            lines = self.log_lines()
            for entry in lines:
                if entry.get("msg") == "listening":
                    port = int(entry["address"].rsplit(":", 1)[1])
                    if entry["transport"] == "udp":
                        self.udp_port = port
                    elif entry["transport"] == "tcp":
                        self.tcp_port = port
            if any(e.get("msg") == "started" for e in lines):
                log("switchboard pid %d listening on udp %s tcp %s" %
                    (self.proc.pid, self.udp_port, self.tcp_port))
                return self
            if self.proc.poll() is not None:
                raise TestFailure("switchboard exited with %d at start" % self.proc.returncode)
            time.sleep(0.05)
        raise TestFailure("switchboard did not log \"started\" within %d s" % timeout)

    def log_lines(self, all_runs=False):
        """The JSON log lines of this run (or of every run)."""
        out = []
        try:
            with open(self.log_path, "rb") as f:
                if not all_runs:
                    f.seek(self._log_offset)
                for raw in f:
                    try:
                        out.append(json.loads(raw))
                    except ValueError:
                        out.append({"msg": "(not json)", "raw": raw.decode(errors="replace")})
        except FileNotFoundError:
            pass
        return out

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, timeout=15):
        """SIGTERM, then wait; returns the exit status."""
        if not self.proc:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise TestFailure("switchboard did not stop within %d s of SIGTERM" % timeout)
        finally:
            self._closed()
        return rc

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait()
        self._closed()

    def _closed(self):
        Server.running.discard(self)
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def dump_log(self, lines=60):
        try:
            text = self.log_text().splitlines()
        except OSError:
            return
        log("last %d lines of %s:" % (min(lines, len(text)), self.log_path))
        for line in text[-lines:]:
            print("    " + line)


# --------------------------------------------------------------------------
# A minimal SIP UAC over UDP

COMPACT = {"m": "contact", "i": "call-id", "v": "via", "f": "from", "t": "to", "l": "content-length"}


class Response:
    def __init__(self, data):
        text = data.decode("utf-8", errors="replace")
        head = text.split("\r\n\r\n", 1)[0]
        lines = head.split("\r\n")
        self.status_line = lines[0]
        m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)", lines[0])
        self.status = int(m.group(1)) if m else 0
        self.reason = m.group(2) if m else ""
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:
                name, value = self.headers[-1]
                self.headers[-1] = (name, value + " " + line.strip())
                continue
            if ":" in line:
                name, value = line.split(":", 1)
                name = name.strip().lower()
                self.headers.append((COMPACT.get(name, name), value.strip()))
        self.text = text

    def get(self, name):
        name = name.lower()
        return [v for n, v in self.headers if n == name]

    def first(self, name):
        v = self.get(name)
        return v[0] if v else None


def split_commas(value):
    """Splits a header value at commas outside <...> and quotes."""
    parts, depth, quoted, cur = [], 0, False, ""
    for c in value:
        if c == '"':
            quoted = not quoted
        elif not quoted and c == "<":
            depth += 1
        elif not quoted and c == ">":
            depth -= 1
        if c == "," and depth == 0 and not quoted:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += c
    if cur.strip():
        parts.append(cur.strip())
    return parts


def contact_bindings(response):
    """{contact URI: expires} from the Contact headers of a 200 OK."""
    out = {}
    for header in response.get("contact"):
        for entry in split_commas(header):
            m = re.match(r"\s*(?:\"[^\"]*\"\s*)?<([^>]*)>(.*)", entry)
            if m:
                uri, params = m.group(1), m.group(2)
            else:
                uri, _, params = entry.partition(";")
                params = ";" + params
            e = re.search(r";\s*expires\s*=\s*(\d+)", params, re.I)
            out[uri.strip()] = int(e.group(1)) if e else None
    return out


def parse_auth_params(value):
    scheme, _, rest = value.strip().partition(" ")
    params = {}
    for m in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]+)', rest):
        params[m.group(1).lower()] = m.group(3) if m.group(3) is not None else m.group(2)
    return scheme, params


HASHES = {
    "MD5": lambda b: hashlib.md5(b).hexdigest(),
    "SHA-256": lambda b: hashlib.sha256(b).hexdigest(),
    "SHA-512-256": lambda b: hashlib.new("sha512_256", b).hexdigest(),
}


def digest_authorization(challenge, method, uri, username, password, nc=1):
    """The Authorization value answering one WWW-/Proxy-Authenticate value."""
    _, p = parse_auth_params(challenge)
    alg = p.get("algorithm", "MD5")
    h = HASHES[alg.upper()] if alg.upper() in HASHES else None
    if h is None:
        raise TestFailure("unsupported algorithm %s" % alg)
    realm, nonce = p["realm"], p["nonce"]
    ha1 = h(("%s:%s:%s" % (username, realm, password)).encode())
    ha2 = h(("%s:%s" % (method, uri)).encode())
    fields = ['username="%s"' % username, 'realm="%s"' % realm, 'nonce="%s"' % nonce,
              'uri="%s"' % uri]
    qops = [q.strip() for q in p.get("qop", "").split(",") if q.strip()]
    if "auth" in qops:
        cnonce = secrets.token_hex(8)
        ncs = "%08x" % nc
        response = h(("%s:%s:%s:%s:auth:%s" % (ha1, nonce, ncs, cnonce, ha2)).encode())
        fields += ["qop=auth", "nc=%s" % ncs, 'cnonce="%s"' % cnonce]
    else:
        response = h(("%s:%s:%s" % (ha1, nonce, ha2)).encode())
    fields += ['response="%s"' % response, "algorithm=%s" % alg]
    if "opaque" in p:
        fields.append('opaque="%s"' % p["opaque"])
    return "Digest " + ", ".join(fields)


def pick_challenge(response, prefer=("SHA-512-256", "SHA-256", "MD5")):
    header = "www-authenticate" if response.status == 401 else "proxy-authenticate"
    offers = response.get(header)
    for alg in prefer:
        for offer in offers:
            _, p = parse_auth_params(offer)
            if p.get("algorithm", "MD5").upper() == alg:
                return offer
    raise TestFailure("no usable challenge in %r" % offers)


class SipUac:
    """REGISTER over UDP from 127.0.0.1, one transaction at a time."""

    def __init__(self, server_port, host=HOST):
        self.server = (host, server_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()

    def _request(self, user, realm, call_id, cseq, contact, expires, auth_header=None, extra=()):
        branch = "z9hG4bK" + secrets.token_hex(8)
        lines = [
            "REGISTER sip:%s SIP/2.0" % realm,
            "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (HOST, self.port, branch),
            "Max-Forwards: 70",
            "From: <sip:%s@%s>;tag=%s" % (user, realm, secrets.token_hex(4)),
            "To: <sip:%s@%s>" % (user, realm),
            "Call-ID: %s" % call_id,
            "CSeq: %d REGISTER" % cseq,
        ]
        if contact:
            lines.append("Contact: %s" % contact)
        if expires is not None:
            lines.append("Expires: %d" % expires)
        if auth_header:
            lines.append(auth_header)
        lines += list(extra)
        lines += ["User-Agent: switchboard-e2e", "Content-Length: 0", "", ""]
        return "\r\n".join(lines).encode(), branch

    def transact(self, data, branch, timeout=4.0):
        """Sends with RFC 3261 Timer E retransmissions; returns the final response."""
        deadline = time.time() + timeout
        interval = 0.5
        next_send = 0
        while time.time() < deadline:
            now = time.time()
            if now >= next_send:
                self.sock.sendto(data, self.server)
                next_send = now + interval
                interval = min(interval * 2, 4.0)
            ready, _, _ = select.select([self.sock], [], [], max(0.0, min(next_send, deadline) - now))
            if not ready:
                continue
            raw, _ = self.sock.recvfrom(65535)
            r = Response(raw)
            if branch not in (r.first("via") or ""):
                continue  # a late answer to an earlier transaction
            if r.status >= 200:
                return r
        raise TestFailure("no final response to REGISTER within %.0f s" % timeout)

    def register(self, user, password, realm, contact=None, expires=None, call_id=None,
                 cseq=1, extra=(), prefer=("SHA-512-256", "SHA-256", "MD5")):
        """The 2-step REGISTER; returns (final response, challenge response)."""
        call_id = call_id or secrets.token_hex(12) + "@e2e"
        data, branch = self._request(user, realm, call_id, cseq, contact, expires, extra=extra)
        first = self.transact(data, branch)
        if first.status not in (401, 407):
            return first, None
        challenge = pick_challenge(first, prefer)
        header = "Authorization" if first.status == 401 else "Proxy-Authorization"
        auth = "%s: %s" % (header, digest_authorization(challenge, "REGISTER", "sip:" + realm,
                                                         user, password))
        data, branch = self._request(user, realm, call_id, cseq + 1, contact, expires, auth, extra)
        return self.transact(data, branch), first

    def query(self, user, password, realm):
        """An authenticated REGISTER without Contact (RFC 3261 10.2.3):
        {contact URI: remaining expires}."""
        final, _ = self.register(user, password, realm)
        check(final.status == 200, "query for %s answered %s" % (user, final.status_line))
        return contact_bindings(final)


# --------------------------------------------------------------------------
# sipp

SIPP_SCENARIO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp", "reg_auth.xml")


def write_users_csv(path, users):
    with open(path, "w") as f:
        f.write("SEQUENTIAL\n")
        for user, password in users:
            f.write("%s;%s\n" % (user, password))


def run_sipp(workdir, server_port, realm, users_csv, calls, transport="u1", rate=250,
             local_port=None, timeout=90):
    """Runs the 2-step REGISTER scenario for `calls` users; returns
    (successful, failed, local port) from the last -trace_stat row."""
    require_tool("sipp", "sip-tester")
    local_port = local_port or free_port(socket.SOCK_STREAM if transport.startswith("t") else
                                         socket.SOCK_DGRAM)
    stat = os.path.join(workdir, "sipp_stat_%s.csv" % transport)
    cmd = ["sipp", "%s:%d" % (HOST, server_port), "-sf", SIPP_SCENARIO, "-inf", users_csv,
           "-key", "sipdomain", realm,
           # SIPp prepends "sip:": the digest uri becomes sip:REALM, the Request-URI.
           "-auth_uri", realm,
           "-i", HOST, "-p", str(local_port), "-t", transport,
           "-r", str(rate), "-rp", "1000", "-m", str(calls), "-l", "200",
           "-timeout", "%ds" % timeout, "-buff_size", "4194304",
           "-nd", "-nostdin", "-trace_stat", "-stf", stat, "-fd", "1", "-trace_err"]
    log("running: " + " ".join(cmd))
    started = time.time()
    with open(os.path.join(workdir, "sipp_%s.out" % transport), "wb") as out:
        try:
            rc = subprocess.run(cmd, cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, timeout=timeout + 15,
                                preexec_fn=die_with_parent).returncode
        except subprocess.TimeoutExpired:
            raise TestFailure("sipp did not finish within %d s" % (timeout + 15))
    log("sipp exited %d after %.1f s" % (rc, time.time() - started))
    check(os.path.exists(stat), "sipp wrote no statistics file (exit %d)" % rc)
    with open(stat) as f:
        rows = [line.rstrip("\n").split(";") for line in f if line.strip()]
    header, last = rows[0], rows[-1]
    col = {name: i for i, name in enumerate(header)}
    successful = int(last[col["SuccessfulCall(C)"]])
    failed = int(last[col["FailedCall(C)"]])
    if failed or rc != 0:
        for name in os.listdir(workdir):
            if name.endswith("_errors.log"):
                with open(os.path.join(workdir, name), errors="replace") as f:
                    log("sipp errors (%s):\n%s" % (name, f.read()[-3000:]))
    return successful, failed, local_port, rc


# --------------------------------------------------------------------------
# Many registrations in flight at once (durability under load)


def register_in_flight(server_port, realm, users, contact_of, expires=3600, window=32,
                       on_ack=None, linger=0.3, timeout=30):
    """Registers `users` [(user, password)] over one UDP socket with up to
    `window` flows in flight. After each 200, on_ack(acked_count) is called;
    when it returns True the run stops sending, reads what is already on its
    way for `linger` seconds, and returns.

    Returns (acked {user: time of the 200}, started [users whose first
    REGISTER was sent]). A 200 counts as acked whenever it was received:
    the server sends it only after the binding is durable.
    """
    uac = SipUac(server_port)
    pending = list(users)
    flows = {}  # branch -> [user, password, call_id, stage, data, next_send, interval]
    acked, started = {}, []
    stop_at = None
    deadline = time.time() + timeout

    def send_new():
        user, password = pending.pop(0)
        call_id = secrets.token_hex(12) + "@e2e-load"
        data, branch = uac._request(user, realm, call_id, 1, contact_of(user), expires)
        flows[branch] = [user, password, call_id, 1, data, 0.0, 0.5]
        started.append(user)

    while time.time() < deadline:
        now = time.time()
        if stop_at is not None and now >= stop_at:
            break
        if stop_at is None:
            while pending and len(flows) < window:
                send_new()
            if not pending and not flows:
                break
            for branch, f in flows.items():
                if now >= f[5]:
                    uac.sock.sendto(f[4], uac.server)
                    f[5] = now + f[6]
                    f[6] = min(f[6] * 2, 4.0)
        ready, _, _ = select.select([uac.sock], [], [], 0.01)
        if not ready:
            continue
        raw, _ = uac.sock.recvfrom(65535)
        r = Response(raw)
        via = r.first("via") or ""
        m = re.search(r"branch=([^;\s,]+)", via)
        f = flows.get(m.group(1)) if m else None
        if f is None or r.status < 200:
            continue
        del flows[m.group(1)]
        user, password, call_id, stage = f[0], f[1], f[2], f[3]
        if stage == 1 and r.status in (401, 407):
            if stop_at is not None:
                continue
            challenge = pick_challenge(r)
            header = "Authorization" if r.status == 401 else "Proxy-Authorization"
            auth = "%s: %s" % (header, digest_authorization(challenge, "REGISTER", "sip:" + realm,
                                                             user, password))
            data, branch = uac._request(user, realm, call_id, 2, contact_of(user), expires, auth)
            flows[branch] = [user, password, call_id, 2, data, 0.0, 0.5]
        elif r.status == 200:
            acked[user] = time.time()
            if stop_at is None and on_ack and on_ack(len(acked)):
                stop_at = time.time() + linger
        elif stop_at is None:
            raise TestFailure("%s: REGISTER answered %s" % (user, r.status_line))
    uac.close()
    return acked, started


def free_udp_tcp_port(attempts=50):
    """A port number free on 127.0.0.1 for both UDP and TCP a moment ago."""
    for _ in range(attempts):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind((HOST, 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind((HOST, port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise TestFailure("no port free for both UDP and TCP")


# --------------------------------------------------------------------------
# The operations endpoint (--metrics-listen): /metrics, /healthz, /readyz


def metrics_port(server, timeout=10):
    """The port of the server's metrics endpoint, from its "metrics
    listening" log line (the configuration asked for port 0)."""
    deadline = time.time() + timeout
    while True:
        for entry in server.log_lines():
            if entry.get("msg") == "metrics listening":
                return int(entry["address"].rsplit(":", 1)[1])
        if time.time() > deadline:
            raise TestFailure("no \"metrics listening\" log line within %d s" % timeout)
        time.sleep(0.05)


def http_get(port, path, timeout=5.0):
    """GET http://127.0.0.1:PORT/PATH with the standard library: (status, body)."""
    import http.client
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", errors="replace")
    finally:
        conn.close()


_PROM_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_PROM_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')
_PROM_SUFFIXES = ("_bucket", "_sum", "_count")


def parse_prometheus(text):
    """Parses the text exposition format 0.0.4 strictly: every non-comment
    line is `name{labels} value`, every sample belongs to a family that has
    # HELP and # TYPE before it (histograms: _bucket/_sum/_count with an
    le="+Inf" bucket equal to _count). Returns {(name, ((label, value), ...)):
    float}; raises TestFailure naming the first bad line."""
    samples, helps, types = {}, {}, {}
    for n, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] == "HELP":
                check(parts[2] not in helps, "line %d: second # HELP for %s" % (n, parts[2]))
                helps[parts[2]] = parts[3] if len(parts) > 3 else ""
            elif len(parts) == 4 and parts[1] == "TYPE":
                check(parts[3] in ("counter", "gauge", "histogram", "summary", "untyped"),
                      "line %d: bad type %r" % (n, parts[3]))
                check(parts[2] not in types, "line %d: second # TYPE for %s" % (n, parts[2]))
                types[parts[2]] = parts[3]
            continue
        m = _PROM_SAMPLE.match(line)
        check(m, "line %d is not `name{labels} value`: %r" % (n, line))
        name, labels_text, value = m.group(1), m.group(3), m.group(4)
        labels = []
        if labels_text:
            pos = 0
            while pos < len(labels_text):
                lm = _PROM_LABEL.match(labels_text, pos)
                check(lm and lm.end() > pos, "line %d: bad labels %r" % (n, labels_text))
                labels.append((lm.group(1), lm.group(2)))
                pos = lm.end()
        try:
            v = float(value)
        except ValueError:
            raise TestFailure("line %d: bad value %r" % (n, value))
        family = name
        if name not in types:
            for suffix in _PROM_SUFFIXES:
                if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
                    family = name[:-len(suffix)]
        check(family in types, "line %d: %s has no # TYPE before it" % (n, name))
        check(family in helps, "line %d: %s has no # HELP before it" % (n, name))
        key = (name, tuple(labels))
        check(key not in samples, "line %d: duplicate sample %r" % (n, line))
        samples[key] = v
    # Histograms: buckets cumulative, +Inf == _count.
    for (name, labels), v in samples.items():
        if name.endswith("_count") and types.get(name[:-6]) == "histogram":
            inf = samples.get((name[:-6] + "_bucket", labels + (("le", "+Inf"),)))
            check(inf == v, "%s%s: +Inf bucket %s != _count %s" % (name, dict(labels), inf, v))
    return samples


class Metrics:
    """One parsed scrape: m.value("name", label="value", ...) is the sample
    whose labels are exactly those (0 when absent, or `default`)."""

    def __init__(self, text):
        self.text = text
        self.samples = parse_prometheus(text)

    def value(self, name, default=0.0, **labels):
        return self.samples.get((name, tuple(sorted(labels.items()))),
                                self._unsorted(name, labels, default))

    def _unsorted(self, name, labels, default):
        want = set(labels.items())
        for (n, ls), v in self.samples.items():
            if n == name and set(ls) == want:
                return v
        return default

    def names(self):
        return {n for n, _ in self.samples}


def scrape(port, timeout=5.0):
    status, body = http_get(port, "/metrics", timeout)
    check(status == 200, "/metrics answered %d: %r" % (status, body[:200]))
    return Metrics(body)
