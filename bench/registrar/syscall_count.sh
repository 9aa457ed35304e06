#!/usr/bin/env bash
# Syscalls per flow of Switchboard and Kamailio: strace -c -f attached to the
# server (every thread / process) while sipp sends refresh flows at a low
# rate. strace slows the server, so only the COUNTS mean anything, not the
# times. Diagnostic for bench/RESULTS.md (kernel CPU per flow), not part of
# run_bench.sh.
#
# usage: bench/registrar/syscall_count.sh [--users 10000] [--rate 1000] [--calls 10000]
# Needs strace (Debian strace), sip-tester, kamailio, root (ptrace attach).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PEERS="$REPO/../shared/peers"
BIN="$REPO/build/bin/switchboard"
USERS=10000; RATE=1000; CALLS=10000; REALM=bench.local; KPORT=5070; SPORT=5090
while [ $# -gt 0 ]; do
  case "$1" in
    --users) USERS="$2"; shift 2;; --rate) RATE="$2"; shift 2;; --calls) CALLS="$2"; shift 2;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
command -v strace >/dev/null || { echo "strace missing (apt-get install strace)" >&2; exit 1; }
TMP="$(mktemp -d /tmp/switchboard-syscalls.XXXXXX)"
SB_PID=""; ST_PID=""
cleanup() {
  set +e
  [ -n "$ST_PID" ] && kill -INT "$ST_PID" 2>/dev/null
  [ -n "$SB_PID" ] && kill -TERM "$SB_PID" 2>/dev/null && wait "$SB_PID"
  [ -x "$TMP/peers/stop_kamailio.sh" ] && "$TMP/peers/stop_kamailio.sh" >/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
cp -r "$PEERS" "$TMP/peers"; chmod -R u+w "$TMP/peers"
(cd "$TMP/peers" && ./gen_users.py "$USERS" "$REALM" >/dev/null)
UCSV="$TMP/peers/data/users.csv"

# run NAME PORT PID...: first pass binds every user, second pass (counted) refreshes
count() {
  local name="$1" port="$2"; shift 2
  local C=(--host 127.0.0.1 --port "$port" --realm "$REALM" --users "$UCSV" --scenario qop --sipp-cpus 1 --server-pid none)
  "$TMP/peers/run_sipp.sh" "${C[@]}" --rate 2000 --calls "$USERS" --out "$TMP/$name-bind" >/dev/null
  local ps=(); for p in "$@"; do ps+=(-p "$p"); done
  strace -c -f -o "$TMP/$name.strace" "${ps[@]}" 2>/dev/null &
  ST_PID=$!; sleep 1
  "$TMP/peers/run_sipp.sh" "${C[@]}" --rate "$RATE" --calls "$CALLS" --out "$TMP/$name-run" >/dev/null
  kill -INT "$ST_PID"; wait "$ST_PID" 2>/dev/null || true; ST_PID=""
  echo "== $name: $CALLS refresh flows at $RATE/s ($(tr ' ' '\n' <"$TMP/$name-run/summary.txt" | grep -E '^(ok|failed)=' | tr '\n' ' '))"
  awk -v n="$CALLS" '/^ *[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+/ && !/total/ { printf "  %-16s %9d calls  %6.2f per flow\n", $NF, $4, $4/n }
                     /total$/ { printf "  %-16s %9d calls  %6.2f per flow\n", "TOTAL", $4, $4/n }' "$TMP/$name.strace"
}

# Switchboard (provisioned store, config without the user list)
python3 "$HERE/gen_switchboard_config.py" "$TMP/boot.yaml" --users "$USERS" --realm "$REALM" --port "$SPORT" --data-dir "$TMP/data"
"$BIN" --config "$TMP/boot.yaml" >"$TMP/boot.log" 2>&1 & SB_PID=$!
until grep -q '"msg":"started"' "$TMP/boot.log"; do kill -0 "$SB_PID" || exit 1; sleep 0.2; done
kill -TERM "$SB_PID"; wait "$SB_PID" || true
python3 "$HERE/gen_switchboard_config.py" "$TMP/sb.yaml" --users 0 --realm "$REALM" --port "$SPORT" --data-dir "$TMP/data"
taskset -c 0 "$BIN" --config "$TMP/sb.yaml" >"$TMP/sb.log" 2>&1 & SB_PID=$!
until grep -q '"msg":"started"' "$TMP/sb.log"; do kill -0 "$SB_PID" || exit 1; sleep 0.2; done
count switchboard "$SPORT" "$SB_PID"
kill -TERM "$SB_PID"; wait "$SB_PID" || true; SB_PID=""

# Kamailio (the peer config, qop), every process of its tree
"$TMP/peers/start_kamailio.sh" --port "$KPORT" --cpus 0 --qop --realm "$REALM" >/dev/null
KPID=$(cat "$TMP/peers/run/kamailio.pid")
count kamailio "$KPORT" "$KPID" $(pgrep -P "$KPID")
