#!/usr/bin/env bash
# Does fan-out to WatchRegistrations streams slow the registrar? Registration
# throughput and server CPU with 0 and with N (default 100) watchers, in one
# session, on the same server instance, rounds interleaved (0, N, 0, N, …) so
# drift on this shared machine shows up as spread rather than as an effect.
#
# usage: bench/api/watchers_bench.sh [--binary build/bin/switchboard] [--users 20000]
#          [--rate 3000] [--burst-rate 12000] [--burst-s 10] [--watchers 100]
#          [--rounds 3] [--out DIR]
#
# Each round: (a) fixed work: every user refreshes once at --rate (sipp "qop"
# scenario of ../shared/peers: REGISTER -> 401 -> REGISTER -> 200), server
# CPU seconds per 1,000 flows from /proc (proc_cpu.py); (b) capacity: a burst
# at --burst-rate for --burst-s seconds, flows completed per second. Server
# pinned to CPU 0 with --threads 1; sipp and the watcher process on CPU 1.
# Each flow yields one REFRESHED event, delivered to every watcher.
# Watchers: bench_watch_load (bench/api/watch_load.cc), one HTTP/2 connection each.
# Results: OUT/summary.md (+ raw runs). Stops what it started, by PID.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PEERS="$REPO/../shared/peers"
BIN="$REPO/build/bin/switchboard"; USERS=20000; RATE=3000; BRATE=12000; BSECS=10; WATCHERS=100; ROUNDS=3; OUT=""
REALM=bench.local; SPORT=5090; GPORT=50090; SIPP_PORT=5080
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) BIN="$2"; shift 2;; --users) USERS="$2"; shift 2;; --rate) RATE="$2"; shift 2;;
    --burst-rate) BRATE="$2"; shift 2;; --burst-s) BSECS="$2"; shift 2;;
    --watchers) WATCHERS="$2"; shift 2;; --rounds) ROUNDS="$2"; shift 2;; --out) OUT="$2"; shift 2;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
for t in sipp taskset; do command -v "$t" >/dev/null || die "$t missing (make deps)"; done
[ -x "$BIN" ] || die "no $BIN (make build)"
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs"

TS=$(date +%Y%m%d-%H%M%S)
[ -n "$OUT" ] || OUT="$REPO/bench/registrar/results/watchers-$TS"
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
TMP="$(mktemp -d /tmp/switchboard-watchers.XXXXXX)"
SB_PID=""; W_PID=""
cleanup() {
  set +e
  [ -n "$W_PID" ] && kill -TERM "$W_PID" 2>/dev/null
  if [ -n "$SB_PID" ] && kill -0 "$SB_PID" 2>/dev/null; then
    kill -TERM "$SB_PID"
    for _ in $(seq 1 100); do kill -0 "$SB_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SB_PID" 2>/dev/null && kill -KILL "$SB_PID"
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cp -r "$PEERS" "$TMP/peers"; chmod -R u+w "$TMP/peers"
(cd "$TMP/peers" && ./gen_users.py "$USERS" "$REALM" >/dev/null)
UCSV="$TMP/peers/data/users.csv"
LOAD="$(dirname "$BIN")/bench_watch_load"
[ -x "$LOAD" ] || die "no $LOAD (cmake --build build --target bench_watch_load)"

TOKEN="sbt_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
TOKEN_SHA=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
python3 "$REPO/bench/registrar/gen_switchboard_config.py" "$TMP/sb.yaml" --users "$USERS" --realm "$REALM" \
  --port "$SPORT" --data-dir "$TMP/data" --threads 1
printf 'grpc:\n  listen: "127.0.0.1:%d"\napi:\n  tokens:\n    - {name: bench, role: read, sha256: "%s"}\n' \
  "$GPORT" "$TOKEN_SHA" >>"$TMP/sb.yaml"

taskset -c 0 "$BIN" --config "$TMP/sb.yaml" >"$TMP/sb.log" 2>&1 &
SB_PID=$!
for _ in $(seq 1 600); do
  grep -q '"msg":"started"' "$TMP/sb.log" && break
  kill -0 "$SB_PID" 2>/dev/null || { tail -5 "$TMP/sb.log" >&2; die "switchboard exited"; }
  sleep 0.1
done
grep -q '"msg":"started"' "$TMP/sb.log" || die "switchboard did not start"
C=(--host 127.0.0.1 --port "$SPORT" --realm "$REALM" --users "$UCSV" --scenario qop
   --sipp-cpus 1 --server-pid "$SB_PID" --lport "$SIPP_PORT")
kv() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p" | head -1; }

log "warm-up: $USERS first registrations at $RATE/s"
"$TMP/peers/run_sipp.sh" "${C[@]}" --rate "$RATE" --calls "$USERS" --out "$TMP/warmup" >/dev/null

start_watchers() {
  # nice: the load must not starve sipp (same CPU) and show up as lost flows.
  nice -n 19 taskset -c 1 "$LOAD" --server "127.0.0.1:$GPORT" --token "$TOKEN" --watchers "$WATCHERS" >"$1" 2>&1 &
  W_PID=$!
  for _ in $(seq 1 100); do grep -q '^ready' "$1" && break; sleep 0.1; done
  sleep 2  # let every stream reach the server
}
stop_watchers() {
  kill -TERM "$W_PID"; wait "$W_PID" || true; W_PID=""
}

echo "| round | watchers | fixed: server CPU s / 1000 flows | fixed: ok / failed | burst: target /s | burst: achieved flows/s | burst: failed | events delivered (min per watcher) |" >"$TMP/rows.md"
echo "|---|---|---|---|---|---|---|---|" >>"$TMP/rows.md"
for r in $(seq 1 "$ROUNDS"); do
  for w in 0 "$WATCHERS"; do
    d="$OUT/round$r-w$w"; mkdir -p "$d"
    [ "$w" = 0 ] || start_watchers "$d/watchers.txt"
    python3 "$REPO/bench/registrar/proc_cpu.py" snap "$SB_PID" >"$d/cpu0.json"
    "$TMP/peers/run_sipp.sh" "${C[@]}" --rate "$RATE" --calls "$USERS" --out "$d/fixed" >/dev/null
    python3 "$REPO/bench/registrar/proc_cpu.py" snap "$SB_PID" >"$d/cpu1.json"
    ok=$(kv "$d/fixed/summary.txt" ok); failed=$(kv "$d/fixed/summary.txt" failed)
    python3 "$REPO/bench/registrar/proc_cpu.py" diff "$d/cpu0.json" "$d/cpu1.json" "$ok" >"$d/cpu.txt"
    cpu=$(python3 -c "import sys; kv=dict(x.split('=',1) for x in open(sys.argv[1]).read().split() if '=' in x); print('%.4f' % (float(kv['utime_s_per_1k'])+float(kv['stime_s_per_1k'])))" "$d/cpu.txt")
    "$TMP/peers/run_sipp.sh" "${C[@]}" --rate "$BRATE" --duration "$BSECS" --out "$d/burst" >/dev/null || true
    bok=$(kv "$d/burst/summary.txt" ok); bfailed=$(kv "$d/burst/summary.txt" failed)
    bach=$(kv "$d/burst/summary.txt" achieved_rate)
    ev="-"
    if [ "$w" != 0 ]; then stop_watchers; ev="$(cat "$d/watchers.txt" | tail -1)"; fi
    log "round $r watchers $w: fixed cpu/1k=$cpu ok=$ok failed=$failed; burst achieved=$bach ok=$bok failed=$bfailed; $ev"
    echo "| $r | $w | $cpu | $ok / $failed | $BRATE | $bach | $bfailed | $ev |" >>"$TMP/rows.md"
  done
done
{
  echo "# WatchRegistrations fan-out vs registration throughput"
  echo
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ) head=$(git -C "$REPO" rev-parse --short HEAD) binary=$BIN"
  echo "users=$USERS fixed_rate=$RATE burst_rate=$BRATE burst_s=$BSECS watchers=$WATCHERS rounds=$ROUNDS"
  echo "server: taskset -c 0, --threads 1, SQLite store (synchronous=full); sipp and watchers on CPU 1"
  echo
  cat "$TMP/rows.md"
} >"$OUT/summary.md"
cat "$OUT/summary.md"
