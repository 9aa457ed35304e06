#!/usr/bin/env python3
"""Side-by-side table of one run_bench.sh result folder.

usage: compare.py OUT_DIR      (OUT_DIR/kamailio and OUT_DIR/switchboard)

Ratios: for costs (CPU, latency, bytes) "K/S" = Kamailio's figure divided by
Switchboard's, so > 1 means Switchboard is better; for the knee "S/K".
"""
import os
import sys

out = sys.argv[1]
SRV = ["switchboard", "kamailio"]


def kvs(path):
    try:
        d = {}
        for x in open(path).read().split():
            if "=" in x:
                k, v = x.split("=", 1)
                d.setdefault(k, v)
        return d
    except OSError:
        return {}


def f(x, default=None):
    try:
        return float(x)
    except (TypeError, ValueError):
        return default


D = {}
for s in SRV:
    b = os.path.join(out, s)
    d = {k: kvs(os.path.join(b, p)) for k, p in [
        ("fixed", "fixed/summary.txt"), ("fixed_cpu", "fixed/cpu_detail.txt"),
        ("lat", "latency/latency_summary.txt"), ("lat_cpu", "latency/cpu_detail.txt"),
        ("half", "latency_half/latency_summary.txt"),
        ("fill", "fill/summary.txt"), ("fill_cpu", "fill/cpu_detail.txt"),
        ("m0", "mem_0.txt"), ("m1", "mem_1.txt"), ("mlat", "mem_lat.txt"), ("m2", "mem_2.txt"),
        ("knee", "sweep/knee.txt"), ("server", "server.txt"),
        ("r100k", "mem_reload_100k.txt"), ("r1m", "mem_reload_1m.txt"),
        ("h0", "heap_0.txt"), ("h1", "heap_1.txt"), ("hlat", "heap_lat.txt"), ("h2", "heap_2.txt"),
        ("hr100k", "heap_reload_100k.txt"), ("hr1m", "heap_reload_1m.txt")]}
    steps = []
    sp = os.path.join(b, "sweep/steps.txt")
    if os.path.exists(sp):
        steps = [dict(x.split("=", 1) for x in l.split() if "=" in x) for l in open(sp) if l.strip()]
    d["steps"] = steps
    D[s] = d


def ratio(k, s, inverse=False):
    k, s = f(k), f(s)
    if not k or not s:
        return "n/a"
    return "%.2f" % ((s / k) if inverse else (k / s))


rows = []


def row(label, sv, kv, r="", note=""):
    rows.append("| %s | %s | %s | %s | %s |" % (label, sv, kv, r, note))


def at_knee(d):
    best = [x for x in d["steps"] if x.get("pass") == "1"]
    return best[-1] if best else {}


def first_fail(d):
    ff = [x for x in d["steps"] if x.get("pass") != "1"]
    return ff[0] if ff else {}


def strict(d):
    st = 0
    for x in d["steps"]:
        if x.get("strict") != "1":
            break
        st = x.get("target_rate")
    return st


S, K = D["switchboard"], D["kamailio"]
row("max sustained flows/s (sweep, pass: <0.1 % failed, <0.1 % retrans not persisting, >=97 % of target)",
    "**%s**" % S["knee"].get("knee"), "**%s**" % K["knee"].get("knee"),
    "S/K %s" % ratio(K["knee"].get("knee"), S["knee"].get("knee"), inverse=True),
    "first failing step: S %s, K %s" % (S["knee"].get("first_fail"), K["knee"].get("first_fail")))
row("highest step with 0 failed and 0 retransmissions", strict(S), strict(K))
for lab, d in (("S", S), ("K", K)):
    k = at_knee(d)
    x = first_fail(d)
    row("%s at knee / at first failing step" % lab,
        "", "", "",
        "knee %s/s: achieved %s, srv CPU util %s, sipp CPU util %s; fail %s/s: achieved %s, failed %s, retrans %s (%s s), "
        "srv socket drops %s, srv CPU util %s, sipp CPU util %s, sipp rc %s" % (
            k.get("target_rate"), k.get("achieved_rate"), k.get("srv_cpu_util"), k.get("sipp_cpu_util"),
            x.get("target_rate"), x.get("achieved_rate"), x.get("failed"), x.get("retrans"), x.get("retrans_secs"),
            x.get("srv_sock_drops"), x.get("srv_cpu_util"), x.get("sipp_cpu_util"), x.get("sipp_rc")))
ls, lk = S["lat"], K["lat"]
row("flow latency at %s/s, wire, p50 / p90 / p99 / p99.9 (ms)" % (ls.get("target_rate")),
    "%s / %s / **%s** / %s" % (ls.get("flow_p50_ms"), ls.get("flow_p90_ms"), ls.get("flow_p99_ms"), ls.get("flow_p999_ms")),
    "%s / %s / **%s** / %s" % (lk.get("flow_p50_ms"), lk.get("flow_p90_ms"), lk.get("flow_p99_ms"), lk.get("flow_p999_ms")),
    "p99 K/S %s" % ratio(lk.get("flow_p99_ms"), ls.get("flow_p99_ms")),
    "REGISTER seen on lo -> final 200 seen; %s / %s flows; includes sipp's turnaround" % (ls.get("flows"), lk.get("flows")))
row("server time per leg at %s/s, p50 / p99 (ms): 401 ; 200" % ls.get("target_rate"),
    "%s / %s ; %s / %s" % (ls.get("chal_p50_ms"), ls.get("chal_p99_ms"), ls.get("auth_p50_ms"), ls.get("auth_p99_ms")),
    "%s / %s ; %s / %s" % (lk.get("chal_p50_ms"), lk.get("chal_p99_ms"), lk.get("auth_p50_ms"), lk.get("auth_p99_ms")),
    "200-leg p50 K/S %s" % ratio(lk.get("auth_p50_ms"), ls.get("auth_p50_ms")),
    "Switchboard's 200 waits for the SQLite group commit (fsync)")
hs, hk = S["half"], K["half"]
row("flow latency at half the knee, p50 / p99 / p99.9 (ms)",
    "%s/s: %s / **%s** / %s" % (hs.get("target_rate"), hs.get("flow_p50_ms"), hs.get("flow_p99_ms"), hs.get("flow_p999_ms")),
    "%s/s: %s / **%s** / %s" % (hk.get("target_rate"), hk.get("flow_p50_ms"), hk.get("flow_p99_ms"), hk.get("flow_p999_ms")),
    "", "failed %s / %s, retrans %s / %s" % (hs.get("failed"), hk.get("failed"), hs.get("retrans"), hk.get("retrans")))
fs, fk = S["fixed"], K["fixed"]
row("**server CPU s per 1,000 flows**, fixed rate %s/s, %s new bindings" % (fs.get("target_rate"), fs.get("ok")),
    "**%s**" % fs.get("srv_cpu_s_per_1k"), "**%s**" % fk.get("srv_cpu_s_per_1k"),
    "**K/S %s**" % ratio(fk.get("srv_cpu_s_per_1k"), fs.get("srv_cpu_s_per_1k")),
    "aim: K/S >= 3; failed %s / %s, retrans %s / %s" % (fs.get("failed"), fk.get("failed"), fs.get("retrans"), fk.get("retrans")))
cs, ck = S["fixed_cpu"], K["fixed_cpu"]
row("  of which user / system CPU s per 1,000 flows",
    "%s / %s" % (cs.get("utime_s_per_1k"), cs.get("stime_s_per_1k")),
    "%s / %s" % (ck.get("utime_s_per_1k"), ck.get("stime_s_per_1k")), "",
    "context switches per flow (voluntary/involuntary): S %s/%s, K %s/%s" % (
        cs.get("vcs_per_flow"), cs.get("nvcs_per_flow"), ck.get("vcs_per_flow"), ck.get("nvcs_per_flow")))
row("  CPU by thread/process (s)", cs.get("cpu_s_by_thread", ""), ck.get("cpu_s_by_thread", ""))
row("server CPU s per 1,000 flows at %s/s (refreshes, latency run)" % ls.get("target_rate"),
    ls.get("srv_cpu_s_per_1k"), lk.get("srv_cpu_s_per_1k"), "K/S %s" % ratio(lk.get("srv_cpu_s_per_1k"), ls.get("srv_cpu_s_per_1k")),
    "user/system: S %s/%s, K %s/%s" % (S["lat_cpu"].get("utime_s_per_1k"), S["lat_cpu"].get("stime_s_per_1k"),
                                      K["lat_cpu"].get("utime_s_per_1k"), K["lat_cpu"].get("stime_s_per_1k")))
ks = {x["target_rate"]: x for x in K["steps"]}
for x in S["steps"]:
    r = x["target_rate"]
    y = ks.get(r, {})
    row("sweep %s/s: CPU s per 1,000 flows (refreshes); pass" % r,
        "%s; %s" % (x.get("srv_cpu_s_per_1k"), x.get("pass")),
        "%s; %s" % (y.get("srv_cpu_s_per_1k", "-"), y.get("pass", "-")),
        "K/S %s" % ratio(y.get("srv_cpu_s_per_1k"), x.get("srv_cpu_s_per_1k")) if y else "",
        "util S %s K %s; retrans S %s K %s; srv drops S %s K %s" % (
            x.get("srv_cpu_util"), y.get("srv_cpu_util", "-"), x.get("retrans"), y.get("retrans", "-"),
            x.get("srv_sock_drops"), y.get("srv_sock_drops", "-")))
for x in K["steps"]:
    if x["target_rate"] not in {y["target_rate"] for y in S["steps"]}:
        row("sweep %s/s: CPU s per 1,000 flows (refreshes); pass" % x["target_rate"], "-",
            "%s; %s" % (x.get("srv_cpu_s_per_1k"), x.get("pass")), "",
            "util K %s; retrans %s; srv drops %s" % (x.get("srv_cpu_util"), x.get("retrans"), x.get("srv_sock_drops")))
ps, pk = S["fill"], K["fill"]
if ps or pk:
    row("1M fill: flows adding a binding (100k -> 1M), rate; CPU s per 1,000 flows",
        "%s/s: %s" % (ps.get("target_rate"), ps.get("srv_cpu_s_per_1k")),
        "%s/s: %s" % (pk.get("target_rate"), pk.get("srv_cpu_s_per_1k")), "",
        "ok %s / %s, failed %s / %s, retrans %s / %s" % (ps.get("ok"), pk.get("ok"), ps.get("failed"), pk.get("failed"),
                                                    ps.get("retrans"), pk.get("retrans")))


def mem(d, key):
    m = d[key]
    return f(m.get("sum_pss_kb")), f(m.get("sum_rss_kb")), f(m.get("main_rss_kb"))


def nb(d, which):
    fx = f(d["fixed"].get("ok"), 0)
    if which == 1:
        return fx
    return fx + f(d["fill"].get("ok"), 0)


for lab, key in (("0 bindings", "m0"), ("100k bindings", "m1"), ("1M bindings", "m2")):
    vs, vk = mem(S, key), mem(K, key)
    if vs[0] is None and vk[0] is None:
        continue
    row("server memory, %s: PSS (RSS) KiB" % lab,
        "%s (%s)" % (S[key].get("sum_pss_kb"), S[key].get("sum_rss_kb")),
        "%s (%s)" % (K[key].get("sum_pss_kb"), K[key].get("sum_rss_kb")), "",
        "Kamailio: sum over %s processes (RSS summed double-counts shm); contacts %s" % (
            K[key].get("nproc"), K[key].get("contacts")))


def per_binding(d, k0, k1, n):
    a, b = d[k0], d[k1]
    if not a or not b or not n:
        return None, None
    return ((f(b["sum_pss_kb"]) - f(a["sum_pss_kb"])) * 1024 / n,
            (f(b["main_rss_kb"]) - f(a["main_rss_kb"])) * 1024 / n)


for lab, k0, k1, n in (("100k bindings: (mem 100k - mem 0) / 100k", "m0", "m1", lambda d: nb(d, 1)),
                       ("1M bindings: (mem 1M - mem 0) / 1M", "m0", "m2", lambda d: nb(d, 2)),
                       ("marginal 100k -> 1M: (mem 1M - mem 100k) / 900k", "m1", "m2", lambda d: nb(d, 2) - nb(d, 1))):
    ps_, rs_ = per_binding(S, k0, k1, n(S))
    pk_, rk_ = per_binding(K, k0, k1, n(K))
    if ps_ is None and pk_ is None:
        continue
    row("**bytes per binding under load**, %s; PSS (Switchboard RSS)" % lab,
        "**%.0f** (%.0f)" % (ps_, rs_) if ps_ is not None else "n/a",
        "**%.0f**" % pk_ if pk_ is not None else "n/a",
        "K/S %.2f" % (pk_ / ps_) if ps_ and pk_ else "", "aim: Switchboard < 300 B")
for lab, key, n in (("100k", "r100k", nb(S, 1)), ("1M", "r1m", nb(S, 2))):
    a, b = S["m0"], S[key]
    if a and b and n:
        row("**bytes per binding, Switchboard restarted on the store with %s bindings** (bindings alone, no traffic state); PSS (RSS)" % lab,
            "**%.0f** (%.0f)" % ((f(b["sum_pss_kb"]) - f(a["sum_pss_kb"])) * 1024 / n,
                                 (f(b["main_rss_kb"]) - f(a["main_rss_kb"])) * 1024 / n), "", "",
            "(restart mem - mem 0) / bindings; restart took %s s; PSS %s KiB" % (b.get("start_s"), b.get("sum_pss_kb")))
h0 = f(S["h0"].get("heap_in_use_bytes"))
for lab, key, n in (("100k bindings, under load", "h1", nb(S, 1)), ("1M bindings, under load", "h2", nb(S, 2)),
                    ("100k bindings, after restart", "hr100k", nb(S, 1)), ("1M bindings, after restart", "hr1m", nb(S, 2))):
    h = f(S[key].get("heap_in_use_bytes"))
    if h0 and h and n:
        row("Switchboard heap in use (glibc malloc_stats) per binding, %s" % lab, "%.0f" % ((h - h0) / n), "", "",
            "(in use - in use at 0 bindings %d MB) / bindings; heap in use %d MB, heap system %d MB" % (
                h0 / 1e6, h / 1e6, f(S[key].get("heap_system_bytes"), 0) / 1e6))
for lab, d in (("S", S), ("K", K)):
    a, b, n = d["m1"], d["mlat"], f(d["lat"].get("ok"))
    if a and b and n:
        row("%s: memory growth per refresh-only flow (latency run, bindings unchanged), PSS bytes" % lab,
            "%.0f" % ((f(b["sum_pss_kb"]) - f(a["sum_pss_kb"])) * 1024 / n) if lab == "S" else "",
            "%.0f" % ((f(b["sum_pss_kb"]) - f(a["sum_pss_kb"])) * 1024 / n) if lab == "K" else "", "",
            "state kept per flow, not per binding (Switchboard: nonce-count table, 300 s)")
m0, m1, m2 = K["m0"], K["m1"], K["m2"]
if m0.get("shm_real_used") and m1.get("shm_real_used"):
    n1 = f(m1.get("contacts")) - f(m0.get("contacts"))
    note = "100k: used %.0f, real_used %.0f" % ((f(m1["shm_used"]) - f(m0["shm_used"])) / n1,
                                                (f(m1["shm_real_used"]) - f(m0["shm_real_used"])) / n1)
    if m2.get("shm_real_used"):
        n2 = f(m2.get("contacts")) - f(m0.get("contacts"))
        note += "; 1M: used %.0f, real_used %.0f" % ((f(m2["shm_used"]) - f(m0["shm_used"])) / n2,
                                                    (f(m2["shm_real_used"]) - f(m0["shm_real_used"])) / n2)
    row("Kamailio shm allocator view, bytes per binding", "", note, "", "core.shmmem deltas / contacts")
sv = S["server"]
row("start-up", "bootstrap of %s users into an empty store: %s s; restart with them unchanged: %s s" % (
    sv.get("users"), sv.get("bootstrap_s"), sv.get("restart_s")),
    "%s s (db_text -> htable)" % K["server"].get("start_s"), "", "bindings in Switchboard's store after stop: %s; DB files %s bytes" % (
        sv.get("bindings_in_store_after_stop"), sv.get("db_bytes")))

print("| figure | Switchboard | Kamailio 5.6 | ratio | notes |")
print("|---|---|---|---|---|")
print("\n".join(rows))
