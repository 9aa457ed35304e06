#!/usr/bin/env python3
"""CPU and context-switch counters of a server's process tree, per thread.

usage: proc_cpu.py snap PID > snap.json        counters of PID, its descendants
                                               and all their threads, now
       proc_cpu.py diff A.json B.json FLOWS    one key=value line: utime/stime
                                               seconds, voluntary/involuntary
                                               context switches, the same per
                                               1,000 flows, and CPU seconds by
                                               thread name (comm)

utime/stime come from /proc/<pid>/task/<tid>/stat (clock ticks), context
switches from .../status. The split tells user-space work (parsing, digest,
SQLite, allocation) from kernel work done on the server's behalf in its own
syscalls (recvmsg/sendmsg on loopback, fsync, futex). Kernel work done in
softirq or kworker context is in neither.
"""
import json
import os
import sys

TCK = os.sysconf("SC_CLK_TCK")


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        if int(st.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(d))
    return out


def tree(pid):
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += children(p)
    return seen


def snap(pid):
    res = {}
    for p in tree(pid):
        try:
            tids = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for t in tids:
            base = "/proc/%d/task/%s" % (p, t)
            try:
                st = open(base + "/stat").read()
                status = open(base + "/status").read()
            except OSError:
                continue
            comm = st[st.index("(") + 1:st.rindex(")")]
            f = st.rsplit(")", 1)[1].split()
            d = {"pid": p, "comm": comm, "utime": int(f[11]), "stime": int(f[12])}
            for line in status.splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    d["vcs"] = int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    d["nvcs"] = int(line.split()[1])
            res["%d/%s" % (p, t)] = d
    return res


def diff(a, b, flows):
    tot = {"utime": 0, "stime": 0, "vcs": 0, "nvcs": 0}
    by_comm = {}
    for k, v in b.items():
        u = a.get(k, {"utime": 0, "stime": 0, "vcs": 0, "nvcs": 0})
        for f in tot:
            tot[f] += v.get(f, 0) - u.get(f, 0)
        c = v["comm"].replace(" ", "_")
        by_comm[c] = by_comm.get(c, 0) + (v["utime"] - u["utime"] + v["stime"] - u["stime"])
    out = [("utime_s", "%.2f" % (tot["utime"] / TCK)), ("stime_s", "%.2f" % (tot["stime"] / TCK)),
           ("vcs", tot["vcs"]), ("nvcs", tot["nvcs"])]
    if flows > 0:
        out += [("utime_s_per_1k", "%.4f" % (tot["utime"] / TCK / flows * 1000)),
                ("stime_s_per_1k", "%.4f" % (tot["stime"] / TCK / flows * 1000)),
                ("vcs_per_flow", "%.2f" % (tot["vcs"] / flows)),
                ("nvcs_per_flow", "%.2f" % (tot["nvcs"] / flows))]
    out.append(("cpu_s_by_thread", ",".join("%s:%.2f" % (c, t / TCK) for c, t in
                                            sorted(by_comm.items(), key=lambda x: -x[1]) if t > 0) or "none"))
    print(" ".join("%s=%s" % kv for kv in out))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "snap":
        json.dump(snap(int(sys.argv[2])), sys.stdout)
    elif len(sys.argv) >= 5 and sys.argv[1] == "diff":
        diff(json.load(open(sys.argv[2])), json.load(open(sys.argv[3])), int(sys.argv[4]))
    else:
        sys.exit(__doc__)
