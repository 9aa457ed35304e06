#!/usr/bin/env bash
# Registration throughput per store kind and with Redis replicas, and Redis
# memory per binding at 1M AORs (docs/scale-out.md "Figures").
#
# usage: bench/registrar/replicas_bench.sh [options]
#   --binary PATH       switchboard (default build/bin/switchboard); copied to
#                       the temp dir first (a rebuild during the run changes nothing)
#   --mem-binary PATH   bench_redis_memory (default: next to --binary)
#   --out DIR           results (default bench/registrar/results/replicas-<timestamp>)
#   --users N           users (default 20000), split in two halves: one per sipp
#   --duration S        measured seconds per configuration (default 20), after
#   --warmup S          seconds of load first (default 3)
#   --limit L           flows in flight per sipp instance (default 100)
#   --rate R            new flows per second per sipp at most (default 20000)
#   --threads T         switchboard worker threads per replica (default 1)
#   --configs "LIST"    among memory sqlite redis1 redis2 kamailio (default: all five)
#   --rounds K          run the list K times (default 1); every run is reported
#   --redis-aof MODE    everysec (default), always or no: Redis persistence in
#                       the throughput runs
#   --mem-aors N        AORs written for the memory figure (default 1000000; 0 skips it)
#   --keep-tmp          leave the temp dir (configs, logs, sipp files) in place
#
# Throughput: two sipp instances (each with half of the users, the peer
# harness's "qop" flow: REGISTER -> 401 with qop="auth" -> REGISTER with
# Authorization -> 200, Expires 3600), closed loop: each keeps --limit flows
# in flight (-r is only a cap), so the server runs as fast as it can without
# socket drops. After --warmup s the script samples, over --duration s:
# successful flows/s (sipp's -trace_stat counters, summed over both sipps),
# failed flows and retransmissions, and CPU seconds (utime+stime from /proc)
# of the switchboard processes, redis-server, Kamailio's process tree and
# the two sipps. The first pass over the users registers them; later ones
# refresh (all users are registered after N flows).
#   memory   switchboard, store.kind memory, 1 replica; both sipps on it
#   sqlite   switchboard, SQLite (the default store), 1 replica; both sipps on it
#   redis1   switchboard on Redis, 1 replica; both sipps on it
#   redis2   two switchboard replicas (a, b) on one Redis; one sipp each
#   kamailio the peer (../shared/peers/start_kamailio.sh --qop, children=2,
#            usrloc in memory); both sipps on it
# Nothing is pinned: on a 2-CPU machine sipp, Redis and the replicas share
# both cores (see the CPU columns). Each configuration gets a fresh data
# directory and a fresh redis-server (own port, AOF per --redis-aof).
#
# Memory: a fresh redis-server without persistence; bench_redis_memory
# writes --mem-aors AORs of one typical UDP binding each through
# RedisBindingStore (a fresh stamp and one REGISTERED event per AOR, default
# event retention 100,000) and reads INFO memory before/after.
#
# Needs: sip-tester, redis-server, kamailio (for that config), python3; 2 CPUs.
# Results: OUT/summary.md, OUT/runs.tsv, OUT/memory.txt, OUT/env.txt, and
# per run OUT/<n>-<config>/ (sipp stat files, server logs' tails).
# Processes started here are stopped by PID.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PEERS="$REPO/../shared/peers"
BIN="$REPO/build/bin/switchboard"; MEMBIN=""
ALLARGS="$*"
OUT=""; USERS=20000; DUR=20; WARM=3; LIMIT=100; RATE=20000; THREADS=1
CONFIGS="memory sqlite redis1 redis2 kamailio"; ROUNDS=1; AOF=everysec; MEMAORS=1000000; KEEP=0
REALM=bench.local
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) BIN="$(readlink -f "$2")"; shift 2;;
    --mem-binary) MEMBIN="$(readlink -f "$2")"; shift 2;;
    --out) OUT="$2"; shift 2;;
    --users) USERS="$2"; shift 2;;
    --duration) DUR="$2"; shift 2;;
    --warmup) WARM="$2"; shift 2;;
    --limit) LIMIT="$2"; shift 2;;
    --rate) RATE="$2"; shift 2;;
    --threads) THREADS="$2"; shift 2;;
    --configs) CONFIGS="$2"; shift 2;;
    --rounds) ROUNDS="$2"; shift 2;;
    --redis-aof) AOF="$2"; shift 2;;
    --mem-aors) MEMAORS="$2"; shift 2;;
    --keep-tmp) KEEP=1; shift;;
    -h|--help) sed -n '2,50p' "$0"; exit 0;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
[ -n "$MEMBIN" ] || MEMBIN="$(dirname "$BIN")/bench_redis_memory"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { echo "replicas_bench: $*" >&2; exit 1; }
case "$AOF" in everysec|always|no) ;; *) die "--redis-aof: everysec, always or no";; esac

# --- preconditions -----------------------------------------------------------
[ -x "$BIN" ] || die "$BIN missing: cmake --build <dir> --target switchboard"
for t in sipp:sip-tester redis-server:redis-server python3:python3; do
  command -v "${t%%:*}" >/dev/null || die "${t%%:*} not found: install Debian package ${t#*:} (make deps)"
done
case " $CONFIGS " in *" kamailio "*)
  command -v kamailio >/dev/null || die "kamailio not found (Debian package kamailio), or leave it out of --configs"
  [ -d "$PEERS" ] || die "peer harness $PEERS missing";;
esac
[ "$MEMAORS" = 0 ] || [ -x "$MEMBIN" ] || die "$MEMBIN missing: cmake --build <dir> --target bench_redis_memory (or --mem-aors 0)"

TS=$(date +%Y%m%d-%H%M%S)
[ -n "$OUT" ] || OUT="$HERE/results/replicas-$TS"
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
TMP="$(mktemp -d /tmp/switchboard-replicas-bench.XXXXXX)"
PIDS=()          # every long-running process started here (servers, redis, sipp)
KAM_STARTED=0
stop_pid() {  # PID [seconds]: SIGTERM, then SIGKILL; only our own children
  local pid="$1" t="${2:-10}" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 $((t * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do stop_pid "$p" 5; done
  [ "$KAM_STARTED" = 1 ] && "$TMP/peers/stop_kamailio.sh" >/dev/null 2>&1
  if [ "$KEEP" = 1 ]; then log "temp dir kept: $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {  # a loopback port free for both UDP and TCP a moment ago
  python3 - <<'EOF'
import socket
for _ in range(100):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        u.close(); t.close()
EOF
}

# --- users, scenario, binary ----------------------------------------------------
mkdir -p "$TMP/bin"; cp "$BIN" "$TMP/bin/switchboard"; SBIN="$TMP/bin/switchboard"
if [ -d "$PEERS" ]; then
  cp -r "$PEERS" "$TMP/peers"; chmod -R u+w "$TMP/peers"
  (cd "$TMP/peers" && ./gen_users.py "$USERS" "$REALM" >/dev/null)
  SCEN="$TMP/peers/sipp/reg_auth_qop.xml"
else
  die "peer harness $PEERS missing (its sipp scenario and users)"
fi
UCSV="$TMP/peers/data/users.csv"
H=$(( USERS / 2 ))
{ echo SEQUENTIAL; sed -n "2,$((H + 1))p" "$UCSV"; } >"$TMP/users_1.csv"
{ echo SEQUENTIAL; sed -n "$((H + 2)),\$p" "$UCSV"; } >"$TMP/users_2.csv"
NONCE_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')

# switchboard's YAML: UDP only, no API, HA1 per user (as Kamailio's table)
sb_config() {  # OUT.yaml PORT DATA_DIR KIND [REDIS_URL REPLICA_ID]
  python3 - "$@" "$USERS" "$REALM" "$THREADS" "$NONCE_SECRET" <<'EOF'
import hashlib, sys
out, port, data, kind = sys.argv[1:5]
url, replica = (sys.argv[5], sys.argv[6]) if len(sys.argv) > 10 else ("", "")
users, realm, threads, secret = int(sys.argv[-4]), sys.argv[-3], int(sys.argv[-2]), sys.argv[-1]
with open(out, "w") as f:
    f.write('sip:\n  listen: ["udp:127.0.0.1:%s"]\ngrpc:\n  listen: "off"\n' % port)
    f.write('data_dir: "%s"\nlog_level: info\nthreads: %d\n' % (data, threads))
    f.write('nonce:\n  secret: "%s"\n' % secret)
    f.write("store:\n  kind: %s\n" % kind)
    if kind == "redis":
        f.write('  url: "%s"\n  prefix: "sb:"\nreplica:\n  id: %s\n' % (url, replica))
    f.write("realms:\n  - name: %s\n    challenge: 401\n    algorithms: [MD5]\n" % realm)
    f.write("    default_expires: 3600\n    max_expires: 7200\n    max_contacts: 10\n    users:\n")
    for k in range(1, users + 1):
        u = "user%d" % k
        ha1 = hashlib.md5(("%s:%s:pw%d" % (u, realm, k)).encode()).hexdigest()
        f.write('      - {username: %s, ha1_md5: "%s"}\n' % (u, ha1))
EOF
}

LAST_PID=""
start_sb() {  # YAML LOG: starts switchboard, waits for "started"; LAST_PID = its PID
  "$SBIN" --config "$1" >"$2" 2>&1 &
  local pid=$! i
  PIDS+=("$pid"); LAST_PID="$pid"
  for i in $(seq 1 1200); do
    grep -q '"msg":"started"' "$2" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { tail -5 "$2" >&2; return 1; }
    sleep 0.1
  done
  return 1
}

start_redis() {  # DIR PORT AOF(everysec|always|no): LAST_PID = its PID
  local args=(--port "$2" --bind 127.0.0.1 --save "" --dir "$1" --daemonize no)
  if [ "$3" = no ]; then args+=(--appendonly no); else args+=(--appendonly yes --appendfsync "$3"); fi
  mkdir -p "$1"
  redis-server "${args[@]}" >"$1/redis.log" 2>&1 &
  local pid=$! i
  PIDS+=("$pid"); LAST_PID="$pid"
  for i in $(seq 1 100); do
    grep -q "Ready to accept connections" "$1/redis.log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { tail -5 "$1/redis.log" >&2; return 1; }
    sleep 0.1
  done
  return 1
}

# CPU ticks of process trees, and sipp's counters in a time window
cat >"$TMP/measure.py" <<'EOF'
import os, sys

def kids(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                st = open("/proc/%s/stat" % d).read()
            except OSError:
                continue
            if int(st.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d))
    return out

def ticks(pid):
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            f = open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(f[11]) + int(f[12])
        todo += kids(p)
    return total

if sys.argv[1] == "ticks":          # ticks GROUP=PID,PID ... -> time=EPOCH machine=ticks GROUP=ticks ...
    import time
    # the whole machine's busy time (user nice system irq softirq steal), same unit
    f = open("/proc/stat").readline().split()
    out = ["time=%.6f" % time.time(), "machine=%d" % sum(int(f[i]) for i in (1, 2, 3, 6, 7, 8))]
    for g in sys.argv[2:]:
        name, pids = g.split("=", 1)
        out.append("%s=%d" % (name, sum(ticks(int(p)) for p in pids.split(",") if p)))
    print(" ".join(out))
elif sys.argv[1] == "window":       # window STAT.csv T0 T1 -> succ fail retrans seconds
    rows = [l.rstrip("\n").split(";") for l in open(sys.argv[2]) if l.strip()]
    col = {h: i for i, h in enumerate(rows[0])}
    t0, t1 = float(sys.argv[3]), float(sys.argv[4])
    pts = [(float(r[col["CurrentTime"]].split("\t")[-1]), int(r[col["SuccessfulCall(C)"]]),
            int(r[col["FailedCall(C)"]]), int(r[col["Retransmissions(C)"]])) for r in rows[1:]]
    inside = [p for p in pts if t0 - 0.5 <= p[0] <= t1 + 0.5]
    if len(inside) < 2:
        print("0 0 0 0"); sys.exit(0)
    a, b = inside[0], inside[-1]
    print(b[1] - a[1], b[2] - a[2], b[3] - a[3], "%.3f" % (b[0] - a[0]))
EOF

# --- environment -------------------------------------------------------------------
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cmd=$0 $ALLARGS"
  echo "host=$(hostname) kernel=$(uname -r) cpus=$(nproc) cpu_model=\"$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)\" mem_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
  echo "switchboard_binary=$BIN sha256=$(sha256sum "$BIN" | cut -c1-16) mtime=$(stat -c %y "$BIN" | cut -d. -f1)"
  echo "repo_head=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null) repo_dirty_files=$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null | wc -l)"
  echo "redis=\"$(redis-server --version)\" sipp=\"$(sipp -v 2>&1 | grep -o 'SIPp v[^ ]*' | head -1)\" kamailio=\"$(kamailio -v 2>/dev/null | head -1)\""
  echo "users=$USERS duration_s=$DUR warmup_s=$WARM limit_per_sipp=$LIMIT rate_cap_per_sipp=$RATE threads_per_replica=$THREADS redis_aof=$AOF"
  echo "loadavg_start=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
  echo "busy_processes_start:"; ps -eo pid,pcpu,etime,comm --sort=-pcpu | head -8 | sed 's/^/  /'
} >"$OUT/env.txt"
cat "$OUT/env.txt" >&2

# --- one configuration -----------------------------------------------------------------
printf "run\tconfig\treplicas\tflows_per_s\tflows_per_s_each\tfailed\tretrans\tserver_cpu_cores\tserver_cpu_s_per_1k\tredis_cpu_cores\tredis_cpu_s_per_1k\tsipp_cpu_cores\tother_cores\tloadavg\n" >"$OUT/runs.tsv"
RUN=0
run_config() {  # NAME
  local name="$1" d port1 port2 srv_pids="" redis_pid="" rport targets=() i
  RUN=$((RUN + 1)); d="$OUT/$RUN-$name"; mkdir -p "$d"
  local w="$TMP/run$RUN"; mkdir -p "$w"
  log "=== run $RUN: $name"
  case "$name" in
    memory|sqlite)
      port1=$(free_port)
      sb_config "$w/a.yaml" "$port1" "$w/data-a" "$name"
      start_sb "$w/a.yaml" "$w/a.log" || die "switchboard ($name) did not start"
      srv_pids=$LAST_PID
      targets=("$port1" "$port1");;
    redis1|redis2)
      rport=$(free_port)
      start_redis "$w/redis" "$rport" "$AOF" || die "redis-server did not start"
      redis_pid=$LAST_PID
      port1=$(free_port)
      sb_config "$w/a.yaml" "$port1" "$w/data-a" redis "redis://127.0.0.1:$rport/0" a
      start_sb "$w/a.yaml" "$w/a.log" || die "switchboard a did not start"
      srv_pids=$LAST_PID
      targets=("$port1" "$port1")
      if [ "$name" = redis2 ]; then
        port2=$(free_port)
        sb_config "$w/b.yaml" "$port2" "$w/data-b" redis "redis://127.0.0.1:$rport/0" b
        start_sb "$w/b.yaml" "$w/b.log" || die "switchboard b did not start"
        srv_pids="$srv_pids,$LAST_PID"
        targets=("$port1" "$port2")
      fi;;
    kamailio)
      port1=$(free_port)
      "$TMP/peers/start_kamailio.sh" --port "$port1" --qop --realm "$REALM" >&2
      KAM_STARTED=1
      srv_pids=$(cat "$TMP/peers/run/kamailio.pid")
      targets=("$port1" "$port1");;
    *) die "unknown configuration $name";;
  esac
  local sipp_pids=() stats=()
  for i in 1 2; do
    local lport; lport=$(free_port)
    local cmd=(sipp "127.0.0.1:${targets[$((i - 1))]}" -sf "$SCEN" -inf "$TMP/users_$i.csv"
               -key sipdomain "$REALM" -auth_uri "$REALM" -i 127.0.0.1 -p "$lport" -t u1
               -r "$RATE" -rp 1000 -l "$LIMIT" -m 100000000 -timeout "$((WARM + DUR + 120))s"
               -buff_size 4194304 -nd -nostdin -trace_stat -stf "$d/stat_$i.csv" -fd 1
               -trace_err -error_file "$d/sipp_errors_$i.log")
    echo "${cmd[*]}" >"$d/sipp_cmd_$i.txt"
    (cd "$w" && exec "${cmd[@]}" >"$d/sipp_$i.out" 2>&1) &
    sipp_pids+=("$!"); PIDS+=("$!")
  done
  sleep "$WARM"
  local groups="server=$srv_pids redis=$redis_pid sipp=${sipp_pids[0]},${sipp_pids[1]}"
  local c0 c1 t0 t1
  c0=$(python3 "$TMP/measure.py" ticks $groups); t0=$(sed 's/^time=\([0-9.]*\).*/\1/' <<<"$c0")
  sleep "$DUR"
  c1=$(python3 "$TMP/measure.py" ticks $groups); t1=$(sed 's/^time=\([0-9.]*\).*/\1/' <<<"$c1")
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  for i in 0 1; do kill -USR1 "${sipp_pids[$i]}" 2>/dev/null || true; done
  for i in 0 1; do
    local k
    for k in $(seq 1 150); do kill -0 "${sipp_pids[$i]}" 2>/dev/null || break; sleep 0.1; done
    stop_pid "${sipp_pids[$i]}" 2
  done
  # the window's counters, per sipp
  local succ=0 fail=0 retr=0 each="" s f r sec
  for i in 1 2; do
    read -r s f r sec < <(python3 "$TMP/measure.py" window "$d/stat_$i.csv" "$t0" "$t1")
    each="$each${each:+/}$(python3 -c "print('%.0f' % ($s / $sec if $sec > 0 else 0))")"
    succ=$(python3 -c "print($succ + ($s / $sec if $sec > 0 else 0))")
    fail=$((fail + f)); retr=$((retr + r))
  done
  local tck; tck=$(getconf CLK_TCK)
  local fig
  fig=$(python3 - "$c0" "$c1" "$t0" "$t1" "$succ" "$tck" <<'EOF'
import sys
c0 = dict(kv.split("=") for kv in sys.argv[1].split())
c1 = dict(kv.split("=") for kv in sys.argv[2].split())
t = float(sys.argv[4]) - float(sys.argv[3]); rate = float(sys.argv[5]); tck = float(sys.argv[6])
cpu = {k: (int(c1[k]) - int(c0[k])) / tck for k in c0 if k != "time"}
flows = rate * t
per1k = lambda k: "%.4f" % (cpu[k] / flows * 1000) if flows else "na"
others = cpu["machine"] - cpu["server"] - cpu["redis"] - cpu["sipp"]
print("%.0f\t%.2f\t%s\t%.2f\t%s\t%.2f\t%.2f" % (rate, cpu["server"] / t, per1k("server"),
      cpu["redis"] / t, per1k("redis") if cpu["redis"] else "-", cpu["sipp"] / t, others / t))
EOF
)
  local rate_s server_cores server_1k redis_cores redis_1k sipp_cores
  IFS=$'\t' read -r rate_s server_cores server_1k redis_cores redis_1k sipp_cores other_cores <<<"$fig"
  local nrep=1; [ "$name" = redis2 ] && nrep=2
  printf "%d\t%s\t%d\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$RUN" "$name" "$nrep" "$rate_s" "$each" \
    "$fail" "$retr" "$server_cores" "$server_1k" "$redis_cores" "$redis_1k" "$sipp_cores" "$other_cores" "$load" >>"$OUT/runs.tsv"
  log "$name: $rate_s flows/s ($each per sipp), failed $fail, retrans $retr, server $server_cores cores ($server_1k CPU-s/1k flows), redis $redis_cores cores ($redis_1k), sipp $sipp_cores, other processes $other_cores cores, load $load"
  # stop the servers, keep their logs' tails
  for p in ${srv_pids//,/ }; do
    if [ "$name" = kamailio ]; then break; fi
    stop_pid "$p" 15
  done
  [ "$name" = kamailio ] && { "$TMP/peers/stop_kamailio.sh" >&2; KAM_STARTED=0; }
  [ -n "$redis_pid" ] && stop_pid "$redis_pid" 15
  for f in "$w"/*.log; do [ -f "$f" ] && tail -20 "$f" >"$d/$(basename "$f").tail"; done
  grep -h '"level":"\(warn\|error\)"' "$w"/*.log 2>/dev/null | head -20 >"$d/server_warnings.txt" || true
  rm -rf "$w"
}

for round in $(seq 1 "$ROUNDS"); do
  for c in $CONFIGS; do run_config "$c"; done
done

# --- Redis memory per binding at --mem-aors ---------------------------------------------------
if [ "$MEMAORS" != 0 ]; then
  log "=== memory: $MEMAORS AORs through RedisBindingStore into a fresh redis-server (no persistence)"
  mport=$(free_port)
  start_redis "$TMP/redis-mem" "$mport" no || die "redis-server (memory) did not start"
  mpid=$LAST_PID
  "$MEMBIN" --url "redis://127.0.0.1:$mport/0" --aors "$MEMAORS" --replica switchboard-0 | tee "$OUT/memory.txt" >&2
  stop_pid "$mpid" 30
fi

# --- summary -------------------------------------------------------------------------
echo "loadavg_end=\"$(cut -d' ' -f1-3 /proc/loadavg)\"" >>"$OUT/env.txt"
python3 - "$OUT" <<'EOF' | tee "$OUT/summary.md"
import os, sys
out = sys.argv[1]
rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, "runs.tsv"))]
hdr, rows = rows[0], rows[1:]
c = {h: i for i, h in enumerate(hdr)}
kam = [float(r[c["flows_per_s"]]) for r in rows if r[c["config"]] == "kamailio"]
kam = sum(kam) / len(kam) if kam else None
print("| run | configuration | replicas | flows/s | per sipp | failed | retrans | server cores | server CPU-s / 1k flows | redis cores | redis CPU-s / 1k flows | sipp cores | other processes' cores | load | vs Kamailio (mean) |")
print("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    ratio = "%.2f" % (float(r[c["flows_per_s"]]) / kam) if kam else "-"
    print("| %s |" % r[c["run"]] + " | ".join(r[c[k]] for k in
          ("config", "replicas", "flows_per_s", "flows_per_s_each", "failed", "retrans",
           "server_cpu_cores", "server_cpu_s_per_1k", "redis_cpu_cores", "redis_cpu_s_per_1k",
           "sipp_cpu_cores", "other_cores", "loadavg")) + " | %s |" % ratio)
# medians per configuration (each run above is one sample)
import statistics
def med(conf, key):
    v = [float(r[c[key]]) for r in rows if r[c["config"]] == conf and r[c[key]] not in ("-", "na")]
    return statistics.median(v) if v else None
confs = []
for r in rows:
    if r[c["config"]] not in confs:
        confs.append(r[c["config"]])
kmed = med("kamailio", "flows_per_s")
kcpu = med("kamailio", "server_cpu_s_per_1k")
print()
print("| configuration | runs | median flows/s | ÷ Kamailio | median switchboard (or Kamailio) CPU-s / 1k flows | + redis-server | total ÷ Kamailio |")
print("|---|---:|---:|---:|---:|---:|---:|")
for conf in confs:
    n = sum(1 for r in rows if r[c["config"]] == conf)
    f, sc, rc = med(conf, "flows_per_s"), med(conf, "server_cpu_s_per_1k"), med(conf, "redis_cpu_s_per_1k")
    tot = sc + (rc or 0)
    print("| %s | %d | %.0f | %s | %.4f | %s | %s |" % (
        conf, n, f, "%.2f" % (f / kmed) if kmed else "-", sc, "%.4f" % rc if rc else "-",
        "%.2f" % (tot / kcpu) if kcpu else "-"))
mem = os.path.join(out, "memory.txt")
if os.path.exists(mem):
    kv = dict(x.split("=", 1) for x in open(mem).read().split())
    print()
    print("Redis at %s AORs (one %s binding each): %s bytes per binding in all (used_memory delta), "
          "%s without the event stream (%s entries kept, %s bytes); one AOR key %s bytes "
          "(MEMORY USAGE), its value %s bytes; written at %s AORs/s." % (
              kv["stored_aors"], kv["transport"], kv["bytes_per_binding_total"],
              kv["bytes_per_binding_without_stream"], kv["events_retained"],
              kv["events_stream_bytes"], kv["aor_key_memory_usage"], kv["aor_value_bytes"],
              kv["writes_per_s"]))
EOF
log "results under $OUT"
