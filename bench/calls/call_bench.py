#!/usr/bin/python3
"""Call bench: CreateCall latency and sustained call rate against the real
switchboard on loopback. Run through call_bench.sh (or by hand, see --help).

Set-up: one switchboard (tests/e2e/api_e2e.ApiServer: a temporary data
directory, free ports, an admin token) with one realm of N users (MD5) and
the call limits raised (calls.rate_per_token/burst_per_token/max_calls);
one Python UDP "device farm" on one socket: it registers the N users from
that socket (Contact sip:userK@127.0.0.1:P, digest via tests/e2e's helper),
then answers every INVITE at once (180 + 200 with SDP), answers BYE and
CANCEL (200, + 487), and stamps time.monotonic() when each INVITE arrives.
The client side is Python gRPC (python3-grpcio) in the same process, so the
INVITE stamp and the CreateCall send stamp share one clock.

Measures:
  (a) latency: sequential CreateCall(wait_for NONE) to distinct users;
      CreateCall sent -> INVITE received at the device (p50/p90/p99/max),
      and the RPC's own round trip; each call is hung up after its answer.
  (b) rate: W client threads, each CreateCall(wait_for ANSWERED) then
      HangupCall, for D seconds, for each W in --concurrency; calls/s that
      completed both RPCs, failures by gRPC code, and create->answered
      latency p50/p99.

Caveats: the client and the device farm are Python in one process (GIL):
the figures include Python's thread hand-offs (tens of µs) and the client
may saturate before the server does: the table shows the process CPU time of
the bench and of switchboard to tell which. No retransmission of the device's
200 (loopback drops nothing). Not a test: nothing is asserted.
"""
import argparse
import os
import queue
import re
import resource
import secrets
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

import api_e2e as api  # noqa: E402
import switchboard_e2e as e2e  # noqa: E402

REALM = "bench-calls.test"
SDP = ("v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


def load_stubs(build_dir, work):
    """call_pb2/_grpc from the build tree, else generated here with
    Debian's protoc + grpc_python_plugin (as clients/python/CMakeLists.txt)."""
    gen = os.path.join(build_dir, "clients", "python", "gen")
    if not os.path.exists(os.path.join(gen, "switchboard", "v1", "call_pb2.py")):
        gen = os.path.join(work, "gen")
        os.makedirs(gen, exist_ok=True)
        subprocess.run(["protoc", "-I", os.path.join(ROOT, "proto"), "--python_out", gen,
                        "--grpc_out", gen, "--plugin=protoc-gen-grpc=" +
                        subprocess.check_output(["which", "grpc_python_plugin"], text=True).strip(),
                        os.path.join(ROOT, "proto", "switchboard", "v1", "call.proto")],
                       check=True)
    sys.path.insert(0, gen)
    import grpc
    from switchboard.v1 import call_pb2, call_pb2_grpc
    return grpc, call_pb2, call_pb2_grpc


# --------------------------------------------------------------------------
# The device farm


def parse(data):
    text = data.decode("utf-8", "replace")
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        if ":" in line:
            n, v = line.split(":", 1)
            n = n.strip().lower()
            n = e2e.COMPACT.get(n, n)
            hdrs.setdefault(n, []).append(v.strip())
    return lines[0], hdrs, body


class DeviceFarm:
    def __init__(self, server, users):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((e2e.HOST, 0))
        self.port = self.sock.getsockname()[1]
        self.server = server
        self.users = users
        self.invites = {}     # X-Bench-Id -> monotonic time of the first INVITE
        self.counts = {"INVITE": 0, "ACK": 0, "BYE": 0, "CANCEL": 0, "other": 0,
                       "BYE before its ACK": 0}
        self.acked = set()  # Call-IDs whose 2xx ACK arrived
        self.stop = False
        self.lock = threading.Lock()

    def register_all(self):
        uac = e2e.SipUac(self.server.udp_port)
        uac.sock.close()
        uac.sock, uac.port = self.sock, self.port  # REGISTER from the farm's own socket
        for user, pw in self.users:
            final, _ = uac.register(user, pw, REALM, contact="<sip:%s@%s:%d>" %
                                    (user, e2e.HOST, self.port), expires=3600,
                                    prefer=("MD5",))
            if final.status != 200:
                raise SystemExit("REGISTER %s: %s" % (user, final.status_line))

    def start(self):
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def reply(self, hdrs, status, reason, addr, to_tag=None, body="", contact=False):
        to = hdrs["to"][0]
        if to_tag and "tag=" not in to:
            to += ";tag=" + to_tag
        lines = ["SIP/2.0 %d %s" % (status, reason)]
        lines += ["Via: " + v for v in hdrs.get("via", [])]
        lines += ["From: " + hdrs["from"][0], "To: " + to, "Call-ID: " + hdrs["call-id"][0],
                  "CSeq: " + hdrs["cseq"][0]]
        if contact:
            lines.append("Contact: <sip:dev@%s:%d>" % (e2e.HOST, self.port))
        if body:
            lines.append("Content-Type: application/sdp")
        lines += ["Content-Length: %d" % len(body.encode()), "", body]
        self.sock.sendto("\r\n".join(lines).encode(), addr)

    def run(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            now = time.monotonic()
            if data.startswith(b"SIP/2.0"):
                continue  # responses to our BYE-less life: none expected
            start, hdrs, _ = parse(data)
            method = start.split(" ", 1)[0]
            self.counts[method if method in self.counts else "other"] += 1
            if method == "INVITE":
                bid = (hdrs.get("x-bench-id") or [""])[0]
                with self.lock:
                    self.invites.setdefault(bid, now)
                tag = secrets.token_hex(4)
                self.reply(hdrs, 180, "Ringing", addr, tag, contact=True)
                self.reply(hdrs, 200, "OK", addr, tag, body=SDP, contact=True)
            elif method == "ACK":
                self.acked.add(hdrs["call-id"][0])
            if method == "BYE" and hdrs["call-id"][0] not in self.acked:
                self.counts["BYE before its ACK"] += 1  # sent in order, arrived reordered
            if method in ("BYE", "INFO", "OPTIONS"):
                self.reply(hdrs, 200, "OK", addr)
            elif method == "CANCEL":
                self.reply(hdrs, 200, "OK", addr)
            # ACK: nothing


# --------------------------------------------------------------------------


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def proc_cpu(pid):
    """utime+stime seconds of a process."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def self_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "bin", "switchboard"))
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--latency-calls", type=int, default=500)
    ap.add_argument("--concurrency", default="1,4,16,32")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per rate step")
    ap.add_argument("--auth", action="store_true",
                    help="send sip_auth_username/password (HA1 check per CreateCall)")
    ap.add_argument("--threads", type=int, default=2, help="switchboard worker threads")
    ap.add_argument("--taskset", default="", help="CPU list to pin switchboard to (taskset -c)")
    ap.add_argument("--no-call-limits", action="store_true",
                    help="keep the server's default calls: limits (50 CreateCall/s per token)")
    args = ap.parse_args()

    work = e2e.temp_dir("call-bench")
    grpc, pb, pb_grpc = load_stubs(args.build_dir, work)
    users = [("u%04d" % i, "pw%04d-%s" % (i, secrets.token_hex(4))) for i in range(args.users)]
    extra = "" if args.no_call_limits else ("calls:\n  max_calls: 100000\n  rate_per_token: 100000\n  burst_per_token: 100000\n"
             "  ended_retention: 5\n")
    server = api.ApiServer(args.binary, work, realms=[e2e.realm_yaml(REALM, users)],
                           extra=extra, name="bench")
    if args.taskset:
        real = server.binary
        wrapper = os.path.join(work, "pinned.sh")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec taskset -c %s %s \"$@\"\n" % (args.taskset, real))
        os.chmod(wrapper, 0o755)
        server.binary = wrapper
    server.start()
    try:
        run(args, grpc, pb, pb_grpc, server, users)
    finally:
        server.stop()


def run(args, grpc, pb, pb_grpc, server, users):
    farm = DeviceFarm(server, users)
    t0 = time.time()
    farm.register_all()
    print("registered %d users from 127.0.0.1:%d in %.1f s" % (len(users), farm.port,
                                                               time.time() - t0), flush=True)
    farm.start()
    channel = grpc.insecure_channel(server.grpc_address)
    grpc.channel_ready_future(channel).result(timeout=20)
    stub = pb_grpc.CallServiceStub(channel)
    md = (("authorization", "Bearer " + server.admin_token),)
    W = pb.CreateCallRequest.WaitFor
    counter = [0]
    clock = threading.Lock()

    def request(user_idx, wait_for):
        with clock:
            counter[0] += 1
            bid = "b%d" % counter[0]
        user, pw = users[user_idx % len(users)]
        req = pb.CreateCallRequest(to="sip:%s@%s" % (user, REALM), sdp_offer=SDP,
                                   wait_for=wait_for, headers={"X-Bench-Id": bid})
        req.ring_timeout.seconds = 10
        if args.auth:
            req.sip_auth_username, req.sip_auth_password = user, pw
        return bid, req

    sb_pid = server.proc.pid
    # (a) latency, sequential
    lat_invite, lat_rpc, fails = [], [], {}
    cpu0, scpu0 = proc_cpu(sb_pid), self_cpu()
    for i in range(args.latency_calls):
        bid, req = request(i, W.NONE)
        sent = time.monotonic()
        try:
            call = stub.CreateCall(req, metadata=md, timeout=10)
        except grpc.RpcError as exc:
            fails[exc.code().name] = fails.get(exc.code().name, 0) + 1
            continue
        lat_rpc.append(time.monotonic() - sent)
        deadline = time.monotonic() + 2
        while bid not in farm.invites and time.monotonic() < deadline:
            time.sleep(0.0002)
        if bid in farm.invites:
            lat_invite.append(farm.invites[bid] - sent)
        # hang up once answered (the farm answers at once)
        for _ in range(200):
            try:
                stub.HangupCall(pb.HangupCallRequest(name=call.name), metadata=md, timeout=5)
                break
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
                    fails["hangup " + exc.code().name] = fails.get("hangup " + exc.code().name,
                                                                   0) + 1
                    break
                time.sleep(0.005)
    print("\n(a) CreateCall(wait_for NONE) -> INVITE at the device, %d sequential calls"
          % args.latency_calls)
    print("| measure | n | p50 ms | p90 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, vals in (("CreateCall sent -> INVITE received", lat_invite),
                        ("CreateCall round trip (NONE)", lat_rpc)):
        print("| %s | %d | %.2f | %.2f | %.2f | %.2f |" % (
            label, len(vals), pct(vals, 50) * 1e3, pct(vals, 90) * 1e3, pct(vals, 99) * 1e3,
            (max(vals) if vals else float("nan")) * 1e3))
    print("failures: %s; CPU s: switchboard %.2f, bench %.2f" % (
        fails or "none", proc_cpu(sb_pid) - cpu0, self_cpu() - scpu0), flush=True)

    # (b) sustained rate
    print("\n(b) CreateCall(wait_for ANSWERED) + HangupCall, closed loop, %.0f s per step"
          % args.duration)
    print("| client threads | calls ok | calls/s | failures | create->answered p50 ms | p99 ms "
          "| switchboard CPU % | bench CPU % |")
    print("|---:|---:|---:|---|---:|---:|---:|---:|")
    for conc in [int(x) for x in args.concurrency.split(",") if x]:
        ok = [0]
        lat = []
        errs = {}
        lock = threading.Lock()
        stop_at = time.monotonic() + args.duration

        def worker(k):
            i = k
            while time.monotonic() < stop_at:
                _, req = request(i, W.ANSWERED)
                i += conc
                t = time.monotonic()
                try:
                    call = stub.CreateCall(req, metadata=md, timeout=15)
                    dt = time.monotonic() - t
                    stub.HangupCall(pb.HangupCallRequest(name=call.name), metadata=md, timeout=15)
                    with lock:
                        ok[0] += 1
                        lat.append(dt)
                except grpc.RpcError as exc:
                    with lock:
                        errs[exc.code().name] = errs.get(exc.code().name, 0) + 1
        cpu0, scpu0, w0 = proc_cpu(sb_pid), self_cpu(), time.monotonic()
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(conc)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - w0
        print("| %d | %d | %.0f | %s | %.2f | %.2f | %.0f | %.0f |" % (
            conc, ok[0], ok[0] / wall, ", ".join("%s %d" % kv for kv in errs.items()) or "0",
            pct(lat, 50) * 1e3, pct(lat, 99) * 1e3, 100 * (proc_cpu(sb_pid) - cpu0) / wall,
            100 * (self_cpu() - scpu0) / wall), flush=True)
        time.sleep(1)
    farm.stop = True
    print("\ndevice farm saw: %s" % farm.counts)


if __name__ == "__main__":
    main()
