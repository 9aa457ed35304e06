#!/usr/bin/env bash
# Switchboard vs Kamailio 5.6 as authenticating SIP registrars, in one session,
# with the peer harness of ../shared/peers (sipp scenarios, run_sipp.sh,
# sweep.sh, latency_run.sh, measure_mem.sh, report.py), then a callgrind
# profile of Switchboard. Builds nothing: expects build/bin/switchboard
# (cmake --build build --target switchboard).
#
# usage: bench/registrar/run_bench.sh [options]
#   --binary PATH        switchboard binary (default: build/bin/switchboard); it
#                        is copied to the temp dir first, so a rebuild during
#                        the run does not change what is measured
#   --out DIR            results (default: bench/registrar/results/<timestamp>)
#   --users N            users / bindings of the first fill (default 100000)
#   --rates "LIST"       sweep rates (default below), --step-duration S (10)
#   --fill-calls N       flows that add bindings after the first N users
#                        (default 900000: 100k users x 10 contacts = 1M)
#   --fill-rate R        rate of that fill (default: 60 % of the server's knee,
#                        1000..12000/s)
#   --profile-rate R --profile-calls N   callgrind run (default 100/s, 3000)
#   --only kamailio|switchboard|profile  run one part (default: all three)
#   --sb-synchronous normal|full  Switchboard's store.synchronous (default: the
#                        binary's default; only binaries that know the key)
#   --keep-tmp           leave the temp dir (data dirs, logs) in place
#
# What runs, for each server (Kamailio first, then Switchboard), pinned with
# taskset to CPU 0, sipp (and dumpcap) on CPU 1, loopback only, scenario
# "qop" of the peer harness (REGISTER -> 401 with qop="auth" -> REGISTER with
# Authorization qop=auth -> 200; Switchboard always challenges with qop, so
# Kamailio runs with --qop to answer the same flow):
#   0. start fresh (Switchboard: once on an empty data dir to time the
#      bootstrap of the users, then restarted on it: the measured instance
#      starts provisioned with 0 bindings, like Kamailio loading db_text)
#   1. memory with 0 bindings
#   2. fixed count: one new binding per user at 2000/s -> CPU s per 1000
#      flows (+ utime/stime and context switches, proc_cpu.py), memory
#   3. latency at 1000/s for 20 s under a capture on lo (wire p50/p99), memory
#      again (the delta over these refresh-only flows is state kept per flow,
#      not per binding: Switchboard's nonce-count table)
#   4. rate sweep, 10 s steps, stop at the first failing step -> knee
#   5. latency at half the knee, 20 s
#   6. 900k flows that each add a binding (Contact user part = sipp call
#      number) -> 1M bindings, memory
# then the profile: switchboard under valgrind --tool=callgrind (pinned to CPU
# 0, started on a copy of the provisioned empty store), instrumentation on only
# while sipp sends N new-binding flows at a low rate.
# Results: OUT/{kamailio,switchboard}/ (run_all.sh layout + summary.md),
# OUT/comparison.md, OUT/profile/{callgrind.out,summary.md}, OUT/env.txt.
# Processes started here are stopped by PID; the temp dir is removed on exit.
# Needs: sip-tester, kamailio, tshark (dumpcap), valgrind, python3 (make deps),
# 2 CPUs, and permission to capture on lo (root, or dumpcap with cap_net_raw).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PEERS="$REPO/../shared/peers"
BIN="$REPO/build/bin/switchboard"
ALLARGS="$*"
OUT=""; USERS=100000; RATES="1000 2000 4000 6000 8000 10000 12000 14000 16000 19000 22000 25000 28000 31000 34000 37000 40000"
SBSYNC=(); SDUR=10; FILLCALLS=900000; FILLRATE=""; PRATE=100; PCALLS=3000; ONLY=""; KEEP=0
REALM=bench.local; KPORT=5070; SPORT=5090; SIPP_PORT=5080
FRATE=2000; LRATE=1000; LDUR=20; KSHM=2048
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) BIN="$(readlink -f "$2")"; shift 2;;
    --out) OUT="$2"; shift 2;;
    --users) USERS="$2"; shift 2;;
    --rates) RATES="$2"; shift 2;;
    --step-duration) SDUR="$2"; shift 2;;
    --fill-calls) FILLCALLS="$2"; shift 2;;
    --fill-rate) FILLRATE="$2"; shift 2;;
    --profile-rate) PRATE="$2"; shift 2;;
    --profile-calls) PCALLS="$2"; shift 2;;
    --only) ONLY="$2"; shift 2;;
    --sb-synchronous) SBSYNC=(--synchronous "$2"); shift 2;;
    --keep-tmp) KEEP=1; shift;;
    -h|--help) sed -n '2,50p' "$0"; exit 0;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { echo "run_bench: $*" >&2; exit 1; }

# --- preconditions -----------------------------------------------------------
[ -x "$BIN" ] || die "$BIN missing: cmake --build build -j2 --target switchboard"
[ -d "$PEERS" ] || die "peer harness $PEERS missing"
for t in sipp:sip-tester kamailio:kamailio kamcmd:kamailio dumpcap:tshark valgrind:valgrind \
         callgrind_control:valgrind callgrind_annotate:valgrind taskset:util-linux python3:python3; do
  command -v "${t%%:*}" >/dev/null || die "${t%%:*} not found: install Debian package ${t#*:} (make deps)"
done
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs (server on 0, sipp on 1)"
for p in $KPORT $SPORT $SIPP_PORT; do
  if ss -Hlun "sport = :$p" | grep -q . || ss -Hltn "sport = :$p" | grep -q .; then
    die "port $p is in use"
  fi
done
if [ "$(id -u)" != 0 ] && ! getcap "$(command -v dumpcap)" 2>/dev/null | grep -q cap_net_raw; then
  die "the latency step captures on lo with dumpcap: run as root or give dumpcap cap_net_raw"
fi

TS=$(date +%Y%m%d-%H%M%S)
[ -n "$OUT" ] || OUT="$HERE/results/$TS"
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
TMP="$(mktemp -d /tmp/switchboard-bench.XXXXXX)"
SB_PID=""
cleanup() {
  set +e
  if [ -n "$SB_PID" ] && kill -0 "$SB_PID" 2>/dev/null; then
    kill -TERM "$SB_PID"
    for _ in $(seq 1 100); do kill -0 "$SB_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SB_PID" 2>/dev/null && kill -KILL "$SB_PID"
  fi
  [ -x "$TMP/peers/stop_kamailio.sh" ] && "$TMP/peers/stop_kamailio.sh" >/dev/null 2>&1
  [ -f "$TMP/peers/run/dumpcap.pid" ] && kill -INT "$(cat "$TMP/peers/run/dumpcap.pid")" 2>/dev/null
  if [ "$KEEP" = 1 ]; then log "temp dir kept: $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the harness, copied (the shared folder is read-only) ----------------------
cp -r "$PEERS" "$TMP/peers"; chmod -R u+w "$TMP/peers"
(cd "$TMP/peers" && ./gen_users.py "$USERS" "$REALM" >/dev/null)
UCSV="$TMP/peers/data/users.csv"
# second copy whose qop scenario adds a contact per flow (for the 1M fill)
cp -r "$TMP/peers" "$TMP/peers_multi"
sed -i 's|Contact: <sip:\[field0\]@|Contact: <sip:[field0]-c[call_number]@|' "$TMP/peers_multi/sipp/reg_auth_qop.xml"
[ "$(grep -c 'c\[call_number\]@' "$TMP/peers_multi/sipp/reg_auth_qop.xml")" = 2 ] || die "could not rewrite the Contact of reg_auth_qop.xml"
mkdir -p "$TMP/bin"; cp "$BIN" "$TMP/bin/switchboard"; SBIN="$TMP/bin/switchboard"

# --- environment ---------------------------------------------------------------
fsync_probe() {  # 200 x (4 KiB write + fsync) in the temp dir: median/p99 microseconds
  python3 - "$TMP" <<'EOF'
import os, sys, time
p = os.path.join(sys.argv[1], "fsync_probe"); fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o600); t = []
for i in range(200):
    os.pwrite(fd, os.urandom(4096), (i % 16) * 4096); t0 = time.perf_counter(); os.fsync(fd); t.append(time.perf_counter() - t0)
os.close(fd); os.unlink(p); t.sort()
fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600); a = []
for i in range(200):
    os.write(fd, os.urandom(4096)); t0 = time.perf_counter(); os.fsync(fd); a.append(time.perf_counter() - t0)
os.close(fd); os.unlink(p); a.sort()
print("fsync_4k_overwrite_us_p50=%.0f p99=%.0f fsync_4k_append_us_p50=%.0f p99=%.0f" % (
    t[100] * 1e6, t[197] * 1e6, a[100] * 1e6, a[197] * 1e6))
EOF
}
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cmd=$0 $ALLARGS"
  echo "host=$(hostname) kernel=$(uname -r) cpus=$(nproc) cpu_model=\"$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)\" mem_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
  echo "os=\"$(. /etc/os-release && echo "$PRETTY_NAME")\""
  echo "switchboard_binary=$BIN sha256=$(sha256sum "$BIN" | cut -c1-16) mtime=$(stat -c %y "$BIN" | cut -d. -f1)"
  echo "switchboard_version=\"$("$SBIN" --version 2>&1 | head -1)\" build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$(dirname "$BIN")")/CMakeCache.txt" 2>/dev/null)"
  echo "repo_head=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null) repo_dirty_files=\"$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null | awk '{print $2}' | tr '\n' ' ')\""
  echo "kamailio=\"$(kamailio -v 2>&1 | head -1)\" kamailio_pkg=$(dpkg-query -W -f='${Version}' kamailio 2>/dev/null)"
  echo "sipp=\"$(sipp -v 2>&1 | grep -o 'SIPp v[^ ]*' | head -1)\" sipp_pkg=$(dpkg-query -W -f='${Version}' sip-tester 2>/dev/null)"
  echo "valgrind=$(valgrind --version) dumpcap=\"$(dumpcap -v 2>&1 | head -1)\" sqlite_pkg=$(dpkg-query -W -f='${Version}' libsqlite3-0 2>/dev/null) openssl_pkg=$(dpkg-query -W -f='${Version}' libssl3 2>/dev/null)"
  echo "disk=\"$(df -hT "$TMP" | awk 'NR==2 {print $1, $2, $3}')\" $(fsync_probe)"
  echo "net.core.rmem_max=$(sysctl -n net.core.rmem_max) net.core.rmem_default=$(sysctl -n net.core.rmem_default)"
  echo "loadavg_start=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
  echo "busy_processes_start:"; ps -eo pid,pcpu,etime,comm --sort=-pcpu | head -6 | sed 's/^/  /'
} >"$OUT/env.txt"
cat "$OUT/env.txt" >&2

kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -1; }

# One server's measurements; the server is running, pinned, fresh (0 bindings).
# usage: measure NAME PORT PID
measure() {
  local name="$1" port="$2" pid="$3" d="$OUT/$1" knee half fr
  mkdir -p "$d"
  local C=(--host 127.0.0.1 --port "$port" --realm "$REALM" --users "$UCSV" --scenario qop
           --sipp-cpus 1 --server-pid "$pid" --lport "$SIPP_PORT")
  {
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ) host=127.0.0.1 port=$port realm=$REALM users=$UCSV nusers=$USERS scenario=qop"
    echo "cmd=run_bench.sh (measure $name)"
    echo "sipp=$(sipp -v 2>&1 | grep -o 'SIPp v[^ ]*' | head -1) sipp_cpus=1"
    echo "server_pid=$pid server_cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")"
    echo "server_cpus=$(awk '/^Cpus_allowed_list:/ {print $2}' "/proc/$pid/status")"
    echo "server_socket=$(ss -Huamn "sport = :$port" | tr -s ' ' | tr '\n' ' ')"
    echo "loadavg=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
  } >"$d/env.txt"
  "$TMP/peers/measure_mem.sh" "$pid" >"$d/mem_0.txt"; [ "$name" != switchboard ] || heap_stats "$pid" "$SBDIR/switchboard.log" "$d/heap_0.txt"; log "$name mem0: $(cat "$d/mem_0.txt")"

  log "$name: fixed count, $USERS new bindings at $FRATE/s"
  python3 "$HERE/proc_cpu.py" snap "$pid" >"$d/cpu_fixed_0.json"
  "$TMP/peers/run_sipp.sh" "${C[@]}" --rate "$FRATE" --calls "$USERS" --out "$d/fixed" >/dev/null
  python3 "$HERE/proc_cpu.py" snap "$pid" >"$d/cpu_fixed_1.json"
  python3 "$HERE/proc_cpu.py" diff "$d/cpu_fixed_0.json" "$d/cpu_fixed_1.json" \
    "$(kv "$(cat "$d/fixed/summary.txt")" ok)" >"$d/fixed/cpu_detail.txt"
  log "$name fixed: $(cat "$d/fixed/summary.txt" | tr ' ' '\n' | grep -E '^(achieved_rate|ok|failed|retrans|srv_cpu_s_per_1k)=' | tr '\n' ' ') $(cat "$d/fixed/cpu_detail.txt")"
  sleep 2
  "$TMP/peers/measure_mem.sh" "$pid" >"$d/mem_1.txt"; [ "$name" != switchboard ] || heap_stats "$pid" "$SBDIR/switchboard.log" "$d/heap_1.txt"; log "$name mem1: $(cat "$d/mem_1.txt")"
  if [ "$name" = switchboard ]; then  # snapshot of the store with 100k bindings (see reload_mem)
    mkdir -p "$SBDIR/data_100k"
    python3 -c "import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d); d.close()" \
      "$SBDIR/data/switchboard.db" "$SBDIR/data_100k/switchboard.db"
  fi

  log "$name: latency at $LRATE/s for $LDUR s under capture"
  python3 "$HERE/proc_cpu.py" snap "$pid" >"$d/cpu_lat_0.json"
  "$TMP/peers/latency_run.sh" --cap-cpus 1 "${C[@]}" --rate "$LRATE" --duration "$LDUR" --out "$d/latency" >/dev/null
  python3 "$HERE/proc_cpu.py" snap "$pid" >"$d/cpu_lat_1.json"
  python3 "$HERE/proc_cpu.py" diff "$d/cpu_lat_0.json" "$d/cpu_lat_1.json" \
    "$(kv "$(cat "$d/latency/summary.txt")" ok)" >"$d/latency/cpu_detail.txt"
  log "$name latency: $(tr ' ' '\n' <"$d/latency/latency_summary.txt" | grep -E '^(ok|failed|flow_p50_ms|flow_p99_ms|srv_cpu_s_per_1k)=' | tr '\n' ' ')"
  sleep 2
  "$TMP/peers/measure_mem.sh" "$pid" >"$d/mem_lat.txt"; [ "$name" != switchboard ] || heap_stats "$pid" "$SBDIR/switchboard.log" "$d/heap_lat.txt"; log "$name mem after latency run: $(cat "$d/mem_lat.txt")"

  log "$name: sweep, ${SDUR}s per step"
  "$TMP/peers/sweep.sh" --out "$d/sweep" --duration "$SDUR" --rates "$RATES" "${C[@]}" >&2 ||
    log "$name: sweep ended with an error (the step that broke it has no summary)"
  [ -s "$d/sweep/knee.txt" ] || echo "knee=0 first_fail=error" >"$d/sweep/knee.txt"
  knee=$(sed -n 's/^knee=\([0-9]*\).*/\1/p' "$d/sweep/knee.txt")
  half=$(( knee / 2 / 500 * 500 )); [ "$half" -ge 500 ] || half=500
  log "$name: latency at half the knee ($half/s) for $LDUR s under capture"
  "$TMP/peers/latency_run.sh" --cap-cpus 1 "${C[@]}" --rate "$half" --duration "$LDUR" --out "$d/latency_half" >/dev/null ||
    log "$name: latency run at $half/s failed"
  log "$name latency@$half: $(tr ' ' '\n' <"$d/latency_half/latency_summary.txt" | grep -E '^(ok|failed|retrans|flow_p50_ms|flow_p99_ms)=' | tr '\n' ' ')"

  if [ "$FILLCALLS" -gt 0 ]; then
    fr="$FILLRATE"
    if [ -z "$fr" ]; then fr=$(( knee * 6 / 10 / 1000 * 1000 )); [ "$fr" -ge 1000 ] || fr=1000; [ "$fr" -le 12000 ] || fr=12000; fi
    log "$name: $FILLCALLS flows adding one binding each at $fr/s"
    python3 "$HERE/proc_cpu.py" snap "$pid" >"$d/cpu_fill_0.json"
    "$TMP/peers_multi/run_sipp.sh" "${C[@]}" --rate "$fr" --calls "$FILLCALLS" --out "$d/fill" >/dev/null ||
      log "$name: the fill run did not complete cleanly (see $d/fill/sipp_stderr.txt)"
    [ -s "$d/fill/summary.txt" ] || echo "ok=0 failed=na note=fill_run_failed" >"$d/fill/summary.txt"
    python3 "$HERE/proc_cpu.py" snap "$pid" >"$d/cpu_fill_1.json"
    python3 "$HERE/proc_cpu.py" diff "$d/cpu_fill_0.json" "$d/cpu_fill_1.json" \
      "$(kv "$(cat "$d/fill/summary.txt")" ok)" >"$d/fill/cpu_detail.txt" || true
    log "$name fill: $(tr ' ' '\n' <"$d/fill/summary.txt" | grep -E '^(achieved_rate|ok|failed|retrans|srv_cpu_s_per_1k)=' | tr '\n' ' ')"
    sleep 2
    "$TMP/peers/measure_mem.sh" "$pid" >"$d/mem_2.txt"; [ "$name" != switchboard ] || heap_stats "$pid" "$SBDIR/switchboard.log" "$d/heap_2.txt"; log "$name mem2: $(cat "$d/mem_2.txt")"
  fi
  echo "loadavg_end=\"$(cut -d' ' -f1-3 /proc/loadavg)\"" >>"$d/env.txt"
  python3 "$TMP/peers/report.py" "$d" "$USERS" >"$d/summary.md" || log "report.py failed for $name"
}

# glibc's view of Switchboard's heap: gdb calls malloc_stats() in the process
# (it prints to the server's stderr = its log), we keep the totals. RSS keeps
# freed-but-retained heap (the start-up load of the bindings, bursts); "in use"
# is what live objects occupy. Needs gdb and ptrace rights; else skipped.
heap_stats() {  # PID LOGFILE OUTFILE
  command -v gdb >/dev/null || return 0
  gdb -nx -batch -p "$1" -ex 'call (void)malloc_stats()' >/dev/null 2>&1 || return 0
  sleep 0.2
  awk '/^Total \(incl. mmap\):/ {t=1; s=""; u=""; next}
       t && /^system bytes/ {s=$NF} t && /^in use bytes/ {u=$NF; t=0}
       END {if (u != "") print "heap_system_bytes=" s " heap_in_use_bytes=" u}' "$2" >"$3"
}

# wait for the "started" log line of a switchboard; prints seconds taken
wait_started() {  # LOG PID TIMEOUT_S
  local t0 i; t0=$(date +%s.%N)
  for i in $(seq 1 $(( $3 * 10 ))); do
    grep -q '"msg":"started"' "$1" 2>/dev/null && { python3 -c "import sys; print('%.2f' % ($(date +%s.%N) - $t0))"; return 0; }
    kill -0 "$2" 2>/dev/null || { tail -5 "$1" >&2; return 1; }
    sleep 0.1
  done
  return 1
}
stop_sb() {
  [ -n "$SB_PID" ] || return 0
  kill -TERM "$SB_PID" 2>/dev/null || true
  local rc=0; wait "$SB_PID" || rc=$?
  SB_PID=""; return 0
}

# --- Kamailio --------------------------------------------------------------------
if want kamailio; then
  log "=== Kamailio: start (--cpus 0 --qop --shm $KSHM, children=2, default socket buffer)"
  t0=$(date +%s.%N)
  # 2 GB shm: 1M bindings take ~1.2 GB of shm (real_used); the peer's 512 MB
  # default runs out at ~330k ("usrloc_contact_insert failed", 500)
  "$TMP/peers/start_kamailio.sh" --port "$KPORT" --cpus 0 --qop --realm "$REALM" --shm "$KSHM" >&2
  kstart=$(python3 -c "print('%.2f' % ($(date +%s.%N) - $t0))")
  KPID=$(cat "$TMP/peers/run/kamailio.pid")
  measure kamailio "$KPORT" "$KPID"
  { echo "start_s=$kstart"; cat "$TMP/peers/run/kamailio.info"; } >"$OUT/kamailio/server.txt"
  "$TMP/peers/stop_kamailio.sh" >&2
fi

# --- Switchboard -----------------------------------------------------------------
SBDIR="$TMP/switchboard"; mkdir -p "$SBDIR"
python3 "$HERE/gen_switchboard_config.py" "$SBDIR/switchboard.yaml" --users "$USERS" --realm "$REALM" \
  --port "$SPORT" --data-dir "$SBDIR/data" --threads 1 "${SBSYNC[@]}"
if want switchboard || want profile; then
  log "=== Switchboard: bootstrap $USERS users into an empty store (taskset -c 0, --threads 1)"
  taskset -c 0 "$SBIN" --config "$SBDIR/switchboard.yaml" >"$SBDIR/bootstrap.log" 2>&1 &
  SB_PID=$!
  boot_s=$(wait_started "$SBDIR/bootstrap.log" "$SB_PID" 1200) || die "switchboard did not start, see above"
  boot_rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$SB_PID/status")
  stop_sb
  log "bootstrap: ${boot_s}s to 'started' (RSS $boot_rss KiB)"
  cp -a "$SBDIR/data" "$SBDIR/data_profile"   # provisioned, 0 bindings
fi
# The measured instance and the restarts below use a config WITHOUT the user
# list (the users are in the store; bootstrap leaves stored users alone):
# parsing the 100k-user YAML leaves ~250 MB of freed heap in the process, which
# later allocations (bindings) reuse without growing RSS, so deltas measured on
# top of it would read near 0 bytes per binding.
python3 "$HERE/gen_switchboard_config.py" "$SBDIR/switchboard_nousers.yaml" --users 0 --realm "$REALM" \
  --port "$SPORT" --data-dir "$SBDIR/data" --threads 1 "${SBSYNC[@]}"
if want switchboard; then
  log "=== Switchboard: restart on the provisioned store (config without the user list)"
  taskset -c 0 "$SBIN" --config "$SBDIR/switchboard_nousers.yaml" >"$SBDIR/switchboard.log" 2>&1 &
  SB_PID=$!
  restart_s=$(wait_started "$SBDIR/switchboard.log" "$SB_PID" 600) || die "switchboard did not start"
  measure switchboard "$SPORT" "$SB_PID"
  stop_sb
  nb=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from bindings').fetchone()[0])" "$SBDIR/data/switchboard.db")
  {
    echo "bootstrap_s=$boot_s bootstrap_rss_kb=$boot_rss users=$USERS restart_s=$restart_s"
    echo "bindings_in_store_after_stop=$nb db_bytes=$(du -cb "$SBDIR/data"/switchboard.db* | tail -1 | cut -f1)"
    echo "measured instance and restarts: the same config without the user list (users from the store)"
    echo "config: threads=1 udp:127.0.0.1:$SPORT realm=$REALM algorithms=[MD5] ha1_md5 per user, max_contacts=10, store.synchronous=${SBSYNC[1]:-binary default}, defaults otherwise (nonce lifetime 300 s, nonce.max_tracked 1000000)"
    grep -E '"msg":"(credentials bootstrapped|bindings loaded|started)"' "$SBDIR/bootstrap.log" "$SBDIR/switchboard.log" | sed 's/^/log: /'
    echo "log_lines=$(wc -l <"$SBDIR/switchboard.log") warnings_or_errors=$(grep -c '"level":"\(warn\|error\)"' "$SBDIR/switchboard.log" || true)"
  } >"$OUT/switchboard/server.txt"
  # memory of the bindings alone: restart on the store holding 100k and then
  # 1M bindings (loaded into the cache at start), with no transaction,
  # nonce-count or socket-burst state from traffic; same config as mem_0
  for v in 100k:data_100k 1m:data; do
    [ -f "$SBDIR/${v#*:}/switchboard.db" ] || continue
    python3 "$HERE/gen_switchboard_config.py" "$SBDIR/reload.yaml" --users 0 --realm "$REALM" \
      --port "$SPORT" --data-dir "$SBDIR/${v#*:}" --threads 1 "${SBSYNC[@]}"
    taskset -c 0 "$SBIN" --config "$SBDIR/reload.yaml" >"$SBDIR/reload_${v%%:*}.log" 2>&1 &
    SB_PID=$!
    rs=$(wait_started "$SBDIR/reload_${v%%:*}.log" "$SB_PID" 600) || die "switchboard did not restart on ${v#*:}"
    sleep 2
    heap_stats "$SB_PID" "$SBDIR/reload_${v%%:*}.log" "$OUT/switchboard/heap_reload_${v%%:*}.txt"
    { echo "$("$TMP/peers/measure_mem.sh" "$SB_PID") start_s=$rs"
      grep -E '"msg":"bindings loaded"' "$SBDIR/reload_${v%%:*}.log"; } >"$OUT/switchboard/mem_reload_${v%%:*}.txt"
    stop_sb
    log "switchboard restarted on ${v%%:*} store: $(head -1 "$OUT/switchboard/mem_reload_${v%%:*}.txt")"
  done
  grep -h '"msg":"configuration"' "$SBDIR/switchboard.log" >"$OUT/switchboard/config_log.txt" || true
  grep '"level":"\(warn\|error\)"' "$SBDIR/switchboard.log" | head -20 >"$OUT/switchboard/server_warnings.txt" || true
fi

# --- callgrind profile of Switchboard ------------------------------------------------
if want profile; then
  log "=== profile: switchboard under callgrind, $PCALLS new-binding flows at $PRATE/s"
  P="$OUT/profile"; mkdir -p "$P"
  # users are already in the copied store: a config without the user list
  # (bootstrap leaves stored users alone) keeps the start-up short under valgrind
  python3 "$HERE/gen_switchboard_config.py" "$SBDIR/profile.yaml" --users 0 --realm "$REALM" \
    --port "$SPORT" --data-dir "$SBDIR/data_profile" --threads 1 "${SBSYNC[@]}"
  taskset -c 0 valgrind --tool=callgrind --trace-children=no --instr-atstart=no \
    --callgrind-out-file="$P/callgrind.out" "$SBIN" --config "$SBDIR/profile.yaml" >"$SBDIR/profile.log" 2>&1 &
  SB_PID=$!
  wait_started "$SBDIR/profile.log" "$SB_PID" 600 >/dev/null || die "switchboard under valgrind did not start"
  callgrind_control -z "$SB_PID" >/dev/null
  callgrind_control -i on "$SB_PID" >/dev/null
  "$TMP/peers/run_sipp.sh" --host 127.0.0.1 --port "$SPORT" --realm "$REALM" --users "$UCSV" --scenario qop \
    --sipp-cpus 1 --server-pid "$SB_PID" --lport "$SIPP_PORT" --rate "$PRATE" --calls "$PCALLS" --out "$P/sipp" >/dev/null
  callgrind_control -i off "$SB_PID" >/dev/null
  callgrind_control -d "$SB_PID" >/dev/null
  sleep 1
  stop_sb
  f=$(ls -t "$P"/callgrind.out.* 2>/dev/null | head -1)
  [ -n "$f" ] || die "no callgrind dump in $P"
  mv "$f" "$P/callgrind.out.dump"; rm -f "$P"/callgrind.out "$P"/callgrind.out.*[0-9]
  ok=$(kv "$(cat "$P/sipp/summary.txt")" ok)
  {
    echo "# callgrind profile: switchboard --threads 1 (pinned to CPU 0), $ok flows at $PRATE/s"
    echo
    echo "sipp: $(tr ' ' '\n' <"$P/sipp/summary.txt" | grep -E '^(achieved_rate|ok|failed|retrans)=' | tr '\n' ' ')"
    echo
    python3 "$HERE/profile_summary.py" "$P/callgrind.out.dump" "$ok" --top 25
  } >"$P/summary.md"
  log "profile: $(head -5 "$P/summary.md" | tail -1)"
fi

# --- comparison ------------------------------------------------------------------------
echo "loadavg_end=\"$(cut -d' ' -f1-3 /proc/loadavg)\"" >>"$OUT/env.txt"
if [ -d "$OUT/kamailio" ] && [ -d "$OUT/switchboard" ]; then
  python3 "$HERE/compare.py" "$OUT" | tee "$OUT/comparison.md"
fi
log "results under $OUT"
