#!/usr/bin/env python3
"""Summarize a callgrind profile of the switchboard server process.

usage: profile_summary.py CALLGRIND_OUT FLOWS [--top 15]

Prints markdown: total instructions (Ir) and Ir per flow, the top functions
by inclusive and by self cost (names shortened: argument lists and template
arguments dropped), and how often some functions of interest were called
(per flow): SQLite group commits, fsync, socket send/receive, HMAC, malloc.
Call counts come from the calls= lines of the callgrind file (every caller
summed); the cost tables from callgrind_annotate.
"""
import re
import subprocess
import sys

path, flows = sys.argv[1], int(sys.argv[2])
top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 15


def short(name):
    name = re.sub(r"\s*\[[^\]]*\]$", "", name.strip())       # trailing [object]
    if ":" in name and name.split(":", 1)[0].startswith(("/", ".", "?")):
        name = name.split(":", 1)[1]                           # file: prefix
    out, depth = [], 0
    for ch in name:                                            # drop <...>
        if ch == "<":
            depth += 1
        elif ch == ">" and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    s = "".join(out)
    s = re.sub(r"\((?:[^()]|\([^()]*\))*\)", "()", s)          # drop (args)
    s = s.replace("[abi:cxx11]", "").replace(" [clone .isra.0]", "").replace("(anonymous namespace)::", "")
    return s[:110]


def annotate(inclusive):
    txt = subprocess.run(["callgrind_annotate", "--inclusive=" + ("yes" if inclusive else "no"),
                          "--threshold=100", path], capture_output=True, text=True).stdout
    rows, total = [], None
    for line in txt.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*)$", line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        if "PROGRAM TOTALS" in m.group(3):
            total = ir
            continue
        rows.append((ir, float(m.group(2)), short(m.group(3)), m.group(3)))
    return total, rows


# call counts per callee (all callers summed) from the raw file
names = {}
calls = {}
cur_cfn = None
pending = None
with open(path, errors="replace") as f:
    for line in f:
        if line.startswith(("fn=", "cfn=", "cfi=", "cfl=")):
            key, val = line.rstrip("\n").split("=", 1)
            m = re.match(r"\((\d+)\)(?: (.*))?$", val)
            if m and key in ("fn", "cfn"):
                if m.group(2):
                    names[m.group(1)] = m.group(2)
                if key == "cfn":
                    cur_cfn = m.group(1)
        elif line.startswith("calls="):
            n = int(line.split("=", 1)[1].split()[0])
            calls[cur_cfn] = calls.get(cur_cfn, 0) + n

byname = {}
for fid, n in calls.items():
    nm = names.get(fid, "?")
    byname[nm] = byname.get(nm, 0) + n


def count(pattern):
    rx = re.compile(pattern)
    return sum(n for nm, n in byname.items() if rx.search(nm))


total, inc = annotate(True)
_, exc = annotate(False)
print("Ir (instructions executed in user space, all threads, collection window only): %s = **%s per flow** (%d flows)" % (
    "{:,}".format(total or 0), "{:,}".format((total or 0) // max(flows, 1)), flows))
print()
print("Top %d by inclusive cost (a function and everything it calls):" % top)
print()
print("| # | inclusive Ir | % | Ir per flow | function |")
print("|---|---|---|---|---|")
seen = set()
i = 0
for ir, pct, s, full in inc:
    if s in seen:
        continue
    seen.add(s)
    i += 1
    print("| %d | %s | %.1f | %s | `%s` |" % (i, "{:,}".format(ir), pct, "{:,}".format(ir // max(flows, 1)), s))
    if i >= top:
        break
print()
print("Top %d by self cost:" % top)
print()
print("| # | self Ir | % | Ir per flow | function |")
print("|---|---|---|---|---|")
for i, (ir, pct, s, full) in enumerate(exc[:top], 1):
    lib = re.search(r"\[([^\]]*)\]$", full.strip())
    lib = lib.group(1).rsplit("/", 1)[-1] if lib else ""
    if s.startswith("0x"):
        s = "%s (%s, no symbols)" % (s, lib)
    print("| %d | %s | %.1f | %s | `%s` |" % (i, "{:,}".format(ir), pct, "{:,}".format(ir // max(flows, 1)), s))
print()
print("Calls (all callers; per flow):")
print()
print("| what | calls | per flow |")
print("|---|---|---|")
for label, pat in [
    ("SQLite write transactions (group commits): SqliteBindingStore write_transaction", r"write_transaction"),
    ("sqlite3_step", r"^sqlite3_step$"),
    ("fsync/fdatasync (libc)", r"^(fsync|fdatasync)$"),
    ("recvfrom/recvmsg (libc)", r"^(recvfrom|recvmsg|__libc_recvfrom|__libc_recvmsg)$"),
    ("sendto/sendmsg (libc)", r"^(sendto|sendmsg|__libc_sendto|__libc_sendmsg)$"),
    ("epoll_wait", r"^epoll_wait$"),
    ("HMAC-SHA256 (nonce issue + verify)", r"hmac_sha256"),
    ("EVP_MAC_fetch / EVP_MD_fetch", r"^(EVP_MAC_fetch|EVP_MD_fetch)$"),
    ("malloc", r"^malloc$"),
    ("operator new", r"^operator new"),
    ("pthread_mutex_lock", r"^pthread_mutex_lock"),
]:
    n = count(pat)
    print("| %s | %s | %.2f |" % (label, "{:,}".format(n), n / max(flows, 1)))
