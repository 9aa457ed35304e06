#!/usr/bin/env python3
"""switchboard on Redis (store.kind: redis, docs/store.md "Redis"), against a
real redis-server started by the test (its own port and data directory, AOF
with appendfsync always) and stopped by PID.

--part register: without a nonce secret the server refuses to start on Redis
  (exit 2 naming nonce.secret). sipp registers 500 users (authenticated REGISTER
  flows, all must succeed); Redis then holds exactly 500 `sb:aor:*` keys, whose
  bindings name the replica that took them (replica.id). SIGTERM stops
  switchboard (exit 0); started again on the same Redis it logs "bindings
  loaded" 500 and switchboard_registrations_active{realm} is 500.

--part outage: sipp registers 2,500 users at 100/s (25 s of load: ~2 s
  before, 10 s during and ~12 s after the outage) while the test stops
  redis-server (SIGTERM) for 10 s and starts it again on the same port and
  data directory (AOF: the data survives). From sipp's -trace_msg log, per
  Call-ID/CSeq: every REGISTER got a final response (none left unanswered),
  the only statuses are 401, 200 and 503, every 503 carries Retry-After and
  falls in the outage; /readyz answered 503 (store unreachable / failing)
  during it; after the restart new registrations get 200 again within a few
  seconds without restarting switchboard; every user that got a 200 has its
  `sb:aor:` key in Redis at the end, and a restarted switchboard loads them.

Redis is spoken to over a socket (a minimal RESP client): redis-cli is not
needed.

usage: redis_store_test.py --binary build/bin/switchboard --part register|outage
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import threading
import time

import operations_test as ops
import switchboard_e2e as e2e

REALM = "redis.switchboard.test"
PREFIX = "sb:"
REPLICA = "e2e-replica-a"
METRICS_ON = "metrics:\n  listen: \"127.0.0.1:0\"\n"


# --------------------------------------------------------------------------
# Redis: a minimal RESP client and a redis-server of the test's own


class Resp:
    """One connection to Redis; call(*args) returns the decoded reply
    (bytes, int, list, None) and raises TestFailure on an error reply."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection((e2e.HOST, port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _send(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        return out

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise e2e.TestFailure("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise e2e.TestFailure("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise e2e.TestFailure("redis error: %s" % rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise e2e.TestFailure("bad RESP reply %r" % line)

    def call(self, *args):
        self.sock.sendall(self._send(*args))
        return self._reply()

    def pipeline(self, commands):
        self.sock.sendall(b"".join(self._send(*c) for c in commands))
        return [self._reply() for _ in commands]

    def scan(self, pattern):
        keys, cursor = [], b"0"
        while True:
            cursor, batch = self.call("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            keys += batch
            if cursor == b"0":
                return set(keys)


class RedisServer:
    def __init__(self, workdir):
        e2e.require_tool("redis-server", "redis-server")
        self.dir = os.path.join(workdir, "redis")
        os.makedirs(self.dir, exist_ok=True)
        self.port = e2e.free_port(socket.SOCK_STREAM)
        self.log_path = os.path.join(workdir, "redis.log")
        self.proc = None

    def start(self, timeout=10):
        cmd = ["redis-server", "--port", str(self.port), "--bind", e2e.HOST, "--save", "",
               "--appendonly", "yes", "--appendfsync", "always", "--dir", self.dir,
               "--daemonize", "no"]
        out = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT, preexec_fn=e2e.die_with_parent)
        out.close()
        deadline = time.time() + timeout
        while True:
            try:
                r = Resp(self.port, timeout=1.0)
                try:
                    if r.call("PING") == b"PONG":
                        break
                finally:
                    r.close()
            except (OSError, e2e.TestFailure):
                pass
            if self.proc.poll() is not None:
                raise e2e.TestFailure("redis-server exited with %d at start; see %s" %
                                      (self.proc.returncode, self.log_path))
            if time.time() > deadline:
                raise e2e.TestFailure("redis-server did not answer PING within %d s" % timeout)
            time.sleep(0.05)
        e2e.log("redis-server pid %d on port %d" % (self.proc.pid, self.port))
        return self

    def stop(self, timeout=15):
        if not self.proc or self.proc.poll() is not None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise e2e.TestFailure("redis-server did not stop within %d s of SIGTERM" % timeout)

    def client(self):
        return Resp(self.port)

    def url(self):
        return "redis://%s:%d/0" % (e2e.HOST, self.port)


def redis_config(work, redis, users):
    store = "store:\n  kind: redis\n  url: %s\n  prefix: %s\nreplica:\n  id: %s\n" % (
        e2e.yaml_str(redis.url()), e2e.yaml_str(PREFIX), REPLICA)
    return e2e.config_yaml(os.path.join(work, "data"), [e2e.realm_yaml(REALM, users)],
                           extra=METRICS_ON + store)


def aor_key(user):
    return "%saor:%s@%s" % (PREFIX, user, REALM)


def scenario_with_503(work):
    """reg_auth.xml where a 503 to either REGISTER ends the flow at once (it
    counts as a successful sipp call; the message log tells them apart).
    Unchanged, sipp takes the 503 as unexpected and keeps the call alive,
    retransmitting into the server's cached 503 until -max_retrans, and the
    -l slots fill up with such calls: no new REGISTERs for ~30 s."""
    with open(e2e.SIPP_SCENARIO) as f:
        text = f.read()
    give_up = '<recv response="503" optional="true" next="1"/>\n  '
    for recv in ('<recv response="401" auth="true"/>', '<recv response="200" rtd="flow"/>'):
        e2e.check(text.count(recv) == 1, "%s: no single %s" % (e2e.SIPP_SCENARIO, recv))
        text = text.replace(recv, give_up + recv)
    text = text.replace('<recv response="200" rtd="flow"/>',
                        '<recv response="200" rtd="flow"/>\n  <label id="1"/>')
    path = os.path.join(work, "reg_auth_503.xml")
    with open(path, "w") as f:
        f.write(text)
    return path


def loaded_bindings(server):
    loaded = [e for e in server.log_lines() if e.get("msg") == "bindings loaded"]
    e2e.check(loaded, "no \"bindings loaded\" log line")
    return loaded[0].get("bindings")


# --------------------------------------------------------------------------
# 1. register: 500 users, the keys, a restart on the same Redis


def part_register(binary):
    work = e2e.temp_dir("redis-register")
    n = 500
    users = [("user%d" % k, e2e.random_password()) for k in range(1, n + 1)]
    csv = os.path.join(work, "users.csv")
    e2e.write_users_csv(csv, users)
    redis = RedisServer(work).start()
    try:
        # Replicas must share the nonce secret: without one the start fails, as any
        # invalid configuration does.
        config = redis_config(work, redis, users)
        no_secret = os.path.join(work, "no-secret.yaml")
        with open(no_secret, "w") as f:
            f.write(re.sub(r"nonce:\n  secret: .*\n", "", config))
        rc, _, err = ops.run(binary, ["--config", no_secret])
        e2e.check(rc == 2 and "nonce.secret: required with store.kind redis" in err,
                  "Redis without a nonce secret: exit %d, stderr %r" % (rc, err.strip()))

        server = e2e.Server(binary, work, config).start()
        ok, failed, sipp_port, rc = e2e.run_sipp(work, server.udp_port, REALM, csv, n)
        e2e.log("sipp: %d successful, %d failed" % (ok, failed))
        e2e.check(ok == n and failed == 0 and rc == 0,
                  "sipp: %d successful, %d failed, exit %d (want %d, 0, 0)" % (ok, failed, rc, n))

        r = redis.client()
        keys = r.scan(PREFIX + "aor:*")
        want = {aor_key(u).encode() for u, _ in users}
        e2e.check(len(keys) == n, "%d %saor:* keys in Redis, expected %d: %s" %
                  (len(keys), PREFIX, n, sorted(keys)[:5]))
        e2e.check(keys == want, "the aor keys differ from the users': extra %s, missing %s" %
                  (sorted(keys - want)[:5], sorted(want - keys)[:5]))
        e2e.log("Redis holds %d %saor:* keys, one per user" % (len(keys), PREFIX))
        value = r.call("GET", aor_key(users[0][0]))
        e2e.check(REPLICA.encode() in value, "%s does not name replica %s: %r" %
                  (aor_key(users[0][0]), REPLICA, value))
        r.close()

        rc = server.stop()
        e2e.check(rc == 0, "switchboard exited %s on SIGTERM" % rc)
        server.start()
        bindings = loaded_bindings(server)
        e2e.check(bindings == n, "\"bindings loaded\" says %s after the restart, expected %d" %
                  (bindings, n))
        port = e2e.metrics_port(server)
        active = e2e.scrape(port).value("switchboard_registrations_active", realm=REALM)
        e2e.check(active == n, "switchboard_registrations_active{realm=%s} = %s, expected %d" %
                  (REALM, active, n))
        uac = e2e.SipUac(server.udp_port)
        for user, password in users[::50]:
            b = uac.query(user, password, REALM)
            prefix = "sip:%s@%s:%d" % (user, e2e.HOST, sipp_port)
            e2e.check(len(b) == 1 and list(b)[0].startswith(prefix),
                      "%s after the restart: %s, expected one binding %s..." % (user, b, prefix))
        uac.close()
        e2e.log("restarted on the same Redis: %d bindings loaded, registrations_active %d" %
                (bindings, active))
        rc = server.stop()
        e2e.check(rc == 0, "switchboard exited %s on the second SIGTERM" % rc)
    finally:
        redis.stop()


# --------------------------------------------------------------------------
# 2. outage: Redis stopped for 10 s under sipp load, then back


class ReadyzWatcher(threading.Thread):
    """Polls /readyz every 50 ms: [(time, status, body)]."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.seen = []
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                status, body = e2e.http_get(self.port, "/readyz", timeout=2.0)
                self.seen.append((time.time(), status, body.strip()))
            except OSError as e:
                self.seen.append((time.time(), None, repr(e)))
            self.stopping.wait(0.05)


def part_outage(binary):
    work = e2e.temp_dir("redis-outage")
    # The figure: Redis down for 10 s under registration load. sipp's
    # load must cover before, during and after: 2,500 flows at 100/s = 25 s,
    # the stop comes ~2 s in, so ~12 s of flows follow the restart.
    n, rate = 2500, 100
    outage = 10.0
    users = [("user%d" % k, e2e.random_password()) for k in range(1, n + 1)]
    password = dict(users)
    csv = os.path.join(work, "users.csv")
    e2e.write_users_csv(csv, users)
    redis = RedisServer(work).start()
    try:
        server = e2e.Server(binary, work, redis_config(work, redis, users)).start()
        port = e2e.metrics_port(server)
        e2e.check(e2e.http_get(port, "/readyz")[0] == 200, "/readyz not 200 before the outage")
        sipp_port = e2e.free_port()
        msg_path = os.path.join(work, "sipp.msg")
        cmd = ["sipp", "%s:%d" % (e2e.HOST, server.udp_port), "-sf", scenario_with_503(work),
               "-inf", csv, "-key", "sipdomain", REALM, "-auth_uri", REALM,
               "-i", e2e.HOST, "-p", str(sipp_port), "-t", "u1", "-r", str(rate), "-rp", "1000",
               "-m", str(n), "-l", "400", "-timeout", "60s", "-buff_size", "4194304",
               "-nd", "-nostdin", "-trace_msg", "-message_file", msg_path]
        e2e.require_tool("sipp", "sip-tester")
        e2e.log("running in the background: " + " ".join(cmd))
        out = open(os.path.join(work, "sipp.out"), "wb")
        sipp = subprocess.Popen(cmd, cwd=work, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=e2e.die_with_parent)
        watcher = ReadyzWatcher(port)
        watcher.start()
        try:
            ops.poll("200 REGISTERED", lambda: e2e.scrape(port).value(
                "switchboard_registration_events_total", type="REGISTERED") >= 200,
                timeout=30, interval=0.05)
            t_down = time.time()
            rc = redis.stop()
            t_stopped = time.time()
            e2e.log("redis-server stopped (exit %s) after %.2f s" % (rc, t_stopped - t_down))
            time.sleep(outage)
            t_up = time.time()
            redis.start()
            t_started = time.time()
            e2e.log("redis-server back after %.1f s down" % (t_started - t_down))
            try:
                sipp.wait(60)
            except subprocess.TimeoutExpired:
                raise e2e.TestFailure("sipp did not finish within 60 s")
            e2e.log("sipp exited %d" % sipp.returncode)
            # readiness comes back with the first successful operations
            ops.poll("/readyz 200 after the outage",
                     lambda: e2e.http_get(port, "/readyz")[0] == 200, timeout=10)
        finally:
            watcher.stopping.set()
            watcher.join(5)
            if sipp.poll() is None:
                sipp.send_signal(signal.SIGUSR1)
                try:
                    sipp.wait(5)
                except subprocess.TimeoutExpired:
                    sipp.kill()
                    sipp.wait()
            out.close()

        # /readyz: 503 with the store reason at least once during the outage.
        during = [(t, s, b) for t, s, b in watcher.seen if t_down <= t <= t_started + 0.5]
        not_ready = [(s, b) for _, s, b in during if s == 503]
        e2e.log("/readyz during the outage: %d polls, %d answered 503 %s" %
                (len(during), len(not_ready), sorted({b for _, b in not_ready})))
        e2e.check(not_ready, "/readyz never answered 503 during the outage: %s" %
                  sorted({(s, b) for _, s, b in during}))
        e2e.check(all("credential store unreachable" in b or "binding store failing" in b
                      for _, b in not_ready),
                  "/readyz 503 with an unexpected reason: %s" % sorted({b for _, b in not_ready}))
        errors = [(t, s, b) for t, s, b in watcher.seen if s is None]
        e2e.check(not errors, "/readyz did not answer: %s" % errors[:3])

        # sipp's message log, per (Call-ID, CSeq).
        messages = ops.sipp_messages(msg_path)
        e2e.check(messages, "sipp's message log %s is empty" % msg_path)
        first_sent, answers = {}, {}
        statuses, acked, late_503 = {}, {}, []
        first_200_after = None
        for t, direction, text in messages:
            call_id = ops.header(text, "Call-ID") or ops.header(text, "i")
            cseq = (ops.header(text, "CSeq") or "").split()
            key = (call_id, cseq[0] if cseq else "")
            if direction == "sent" and text.startswith("REGISTER "):
                first_sent.setdefault(key, t)
                continue
            if direction != "received" or not text.startswith("SIP/2.0 "):
                continue
            status = int(text.split()[1])
            to = ops.header(text, "To") or ops.header(text, "t") or ""
            um = re.search(r"sip:([^@>;]+)@", to)
            user = um.group(1) if um else None
            statuses[status] = statuses.get(status, 0) + 1
            answers.setdefault(key, []).append((t, status))
            if status == 200:
                acked[user] = t
                if t > t_up and (first_200_after is None or t < first_200_after[0]):
                    first_200_after = (t, key)
            if status == 503:
                e2e.check(ops.header(text, "Retry-After"),
                          "a 503 without Retry-After:\n%s" % text)
                # sipp's log stamps have ms resolution; allow the in-flight slack
                if not (t_down - 0.5 <= t <= t_up + 2.0):
                    late_503.append((round(t - t_down, 3), key))
        e2e.log("sipp received %s; %d users got a 200" % (statuses, len(acked)))
        timeline = {}
        for k, v in answers.items():
            for t, s in v:
                sec = int((t - t_down) // 1)
                timeline.setdefault(sec, {}).setdefault(s, 0)
                timeline[sec][s] += 1
        e2e.log("responses per second since Redis was stopped (up again at +%.1f s): %s" %
                (t_up - t_down, " ".join("%+d:%s" % (sec, timeline[sec])
                                              for sec in sorted(timeline))))
        # While Redis is down (after what was in flight at the stop): 503 only.
        during_outage = sorted({s for v in answers.values() for t, s in v
                                if t_stopped + 0.5 <= t <= t_up})
        e2e.check(during_outage == [503], "statuses while Redis was down: %s (only 503 is right)"
                  % during_outage)
        # The load spanned the whole outage: 503s from its first to its last second.
        times_503 = sorted(t for v in answers.values() for t, s in v if s == 503)
        e2e.check(times_503 and times_503[0] < t_stopped + 1.5 and times_503[-1] > t_up - 1.0,
                  "503s only from +%.1f s to +%.1f s of a %.1f s outage: the load did not span it"
                  % (times_503[0] - t_down, times_503[-1] - t_down, t_up - t_down)
                  if times_503 else "no 503 at all")
        after_up = sorted((round(t - t_up, 3), k) for k, v in answers.items()
                          for t, s in v if s == 503 and t > t_up)
        e2e.log("%d 503s after redis-server was back (s after, key): %s" %
                (len(after_up), after_up[:10]))
        odd = sorted((round(t - t_up, 3), s, k) for k, v in answers.items() for t, s in v
                     if s not in (401, 200, 503))
        e2e.check(set(statuses) <= {401, 200, 503},
                  "unexpected statuses (only 401, 200, 503 are right): %s; first ones (s after "
                  "redis-server was started again, status, key): %s" % (statuses, odd[:5]))
        e2e.check(statuses.get(503, 0) > 0, "no 503 during a %.0f s outage" % outage)
        e2e.check(not late_503, "%d 503s outside the outage (s after stop, key): %s" %
                  (len(late_503), late_503[:5]))
        unanswered = [k for k in first_sent if k not in answers]
        e2e.check(not unanswered, "%d REGISTERs never answered (sipp retransmits 500 ms, "
                  "1 s, 2 s, ...): %s" % (len(unanswered), unanswered[:5]))
        # Answer latency: none waited beyond sipp's first retransmissions.
        slow = sorted(((min(t for t, _ in answers[k]) - first_sent[k], k) for k in first_sent),
                      reverse=True)[:3]
        e2e.log("slowest first answers: %s" % [(round(d, 2), k) for d, k in slow])
        e2e.check(slow[0][0] < 4.0, "a REGISTER waited %.1f s for its answer: %s" % slow[0])

        # Recovery: 200s again soon after the restart, without restarting switchboard.
        e2e.check(first_200_after, "no 200 after Redis came back")
        e2e.log("first 200 %.2f s after redis-server was back" % (first_200_after[0] - t_up))
        e2e.check(first_200_after[0] - t_up < 3.0,
                  "first 200 only %.1f s after Redis came back" % (first_200_after[0] - t_up))
        # Flows started 2 s after the restart all succeeded.
        started_after = {}
        for key, t in first_sent.items():
            if key[1] == "1" and t > t_up + 2.0:
                started_after[key[0]] = t
        failed_after = [cid for cid in started_after
                        if not any(s == 200 for t, s in answers.get((cid, "2"), []))]
        e2e.check(len(started_after) >= 100, "only %d flows started after the restart" %
                  len(started_after))
        e2e.check(not failed_after, "%d of %d flows started > 2 s after the restart failed: %s" %
                  (len(failed_after), len(started_after), failed_after[:5]))
        e2e.log("%d flows started after the restart all got their 200" % len(started_after))
        e2e.check(server.proc.poll() is None, "switchboard exited during the outage")

        # Every 200 has its binding in Redis.
        r = redis.client()
        exists = r.pipeline([("EXISTS", aor_key(u)) for u in sorted(acked)])
        missing = [u for u, x in zip(sorted(acked), exists) if not x]
        keys = r.scan(PREFIX + "aor:*")
        r.close()
        e2e.check(not missing, "%d users acknowledged with 200 have no key in Redis: %s" %
                  (len(missing), missing[:10]))
        e2e.log("all %d acknowledged users have their %saor: key (%d keys in all)" %
                (len(acked), PREFIX, len(keys)))

        # A restarted switchboard loads them all, with sipp's contact.
        rc = server.stop()
        e2e.check(rc == 0, "switchboard exited %s on SIGTERM" % rc)
        server.start()
        bindings = loaded_bindings(server)
        e2e.check(bindings == len(keys) and bindings >= len(acked),
                  "\"bindings loaded\" %s, %d keys, %d acknowledged" %
                  (bindings, len(keys), len(acked)))
        uac = e2e.SipUac(server.udp_port)
        wrong = []
        for user in sorted(acked)[::10]:
            b = uac.query(user, password[user], REALM)
            if not (len(b) == 1 and list(b)[0].startswith(
                    "sip:%s@%s:%d" % (user, e2e.HOST, sipp_port))):
                wrong.append((user, b))
        uac.close()
        e2e.check(not wrong, "bindings after the restart differ: %s" % wrong[:5])
        e2e.log("restarted: %d bindings loaded (%d acknowledged)" % (bindings, len(acked)))
        rc = server.stop()
        e2e.check(rc == 0, "switchboard exited %s on the second SIGTERM" % rc)
    finally:
        redis.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--part", choices=["register", "outage"], required=True)
    args = ap.parse_args()
    part = {"register": part_register, "outage": part_outage}[args.part]
    e2e.main_wrapper(lambda: part(args.binary))


if __name__ == "__main__":
    main()
