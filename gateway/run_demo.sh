#!/usr/bin/env bash
# gateway/run_demo.sh — what `make run` starts: Switchboard with a demo
# configuration, one realm and one user whose password is generated afresh on
# every start (from /dev/urandom) and printed with ready-to-paste client lines.
#
# usage: gateway/run_demo.sh BINARY BUILD_DIR [LISTEN...]
#   BINARY     the switchboard executable (build/bin/switchboard)
#   BUILD_DIR  where the demo files go: BUILD_DIR/demo/switchboard.yaml,
#              BUILD_DIR/demo/baresip/ and the data directory BUILD_DIR/demo-data
#   LISTEN     listen addresses (default udp:127.0.0.1:5060 tcp:127.0.0.1:5060)
# environment:
#   GRPC_LISTEN  the gRPC API's address (default 127.0.0.1:50051; "off" disables it).
#                SWITCHBOARD_GRPC_LISTEN, when set, wins as it always does.
#   METRICS_LISTEN  Prometheus /metrics, /healthz, /readyz (default 127.0.0.1:9090; "off").
#                SWITCHBOARD_METRICS_LISTEN, when set, wins.
#
# The configuration is applied on every start (an upsert: the demo user's
# stored hashes follow the new password; the bindings in demo-data survive).
# The demo configures no API token, so switchboard's first-start path runs on
# every demo start: the token file is removed first, switchboard generates an
# admin token, stores only its SHA-256 and prints the token once, with a ready
# sbctl line, right below the banner.
# Runs switchboard in the foreground (exec): Ctrl-C stops it cleanly.
set -euo pipefail

BINARY=${1:?usage: run_demo.sh BINARY BUILD_DIR [LISTEN...]}
BUILD_DIR=${2:?usage: run_demo.sh BINARY BUILD_DIR [LISTEN...]}
shift 2
LISTEN=("$@")
[ ${#LISTEN[@]} -gt 0 ] || LISTEN=(udp:127.0.0.1:5060 tcp:127.0.0.1:5060)

GRPC_LISTEN=${SWITCHBOARD_GRPC_LISTEN:-${GRPC_LISTEN:-127.0.0.1:50051}}
METRICS_LISTEN=${SWITCHBOARD_METRICS_LISTEN:-${METRICS_LISTEN:-127.0.0.1:9090}}
REALM=demo.switchboard.test
USER_NAME=demo
DEMO_DIR=$(mkdir -p "$BUILD_DIR/demo" && cd "$BUILD_DIR/demo" && pwd)
DATA_DIR=$(mkdir -p "$BUILD_DIR/demo-data" && cd "$BUILD_DIR/demo-data" && pwd)
CONFIG=$DEMO_DIR/switchboard.yaml

# Letters and digits only (about 6 bits each): no quoting trouble in YAML,
# shells or baresip's account line, and never a leading '-' for sipsak's -a.
random_token() { LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c "$1" || true; }
PASSWORD=$(random_token 24)
NONCE_SECRET=$(random_token 43)

# The first UDP (else TCP) listener is where the clients go.
TARGET="" TARGET_TRANSPORT=""
for l in "${LISTEN[@]}"; do
  case "$l" in
    udp:*) TARGET=${l#udp:}; TARGET_TRANSPORT=udp; break ;;
  esac
done
if [ -z "$TARGET" ]; then
  for l in "${LISTEN[@]}"; do
    case "$l" in tcp:*) TARGET=${l#tcp:}; TARGET_TRANSPORT=tcp; break ;; esac
  done
fi
[ -n "$TARGET" ] || { echo "run_demo.sh: no udp: or tcp: listen address in: ${LISTEN[*]}" >&2; exit 2; }
case "$TARGET" in *:0) echo "run_demo.sh: give the demo a fixed port (not 0)" >&2; exit 2 ;; esac

listen_yaml=""
for l in "${LISTEN[@]}"; do listen_yaml+="${listen_yaml:+, }\"$l\""; done

umask 077  # the file holds a password and the nonce secret
cat >"$CONFIG" <<EOF
# Switchboard demo configuration, written by gateway/run_demo.sh (make run).
# See docs/configuration.md for every key.
sip:
  listen: [$listen_yaml]
data_dir: "$DATA_DIR"
log_level: info
grpc:
  listen: "$GRPC_LISTEN"   # no api.tokens: an admin token is generated and printed
metrics:
  listen: "$METRICS_LISTEN"
nonce:
  secret: "$NONCE_SECRET"
realms:
  - name: $REALM
    challenge: 401
    # sipsak 0.9.8, baresip 1.0 and sipp 3.6 answer only the first challenge
    # and only with MD5: offer MD5 alone for the demo.
    algorithms: [MD5]
    default_expires: 600
    users:
      - username: $USER_NAME
        password: "$PASSWORD"
EOF

# A ready baresip configuration: its own port, so it never collides with 5060.
BARESIP_DIR=$DEMO_DIR/baresip
mkdir -p "$BARESIP_DIR"
OUTBOUND="sip:$TARGET"
[ "$TARGET_TRANSPORT" = tcp ] && OUTBOUND+=";transport=tcp"
printf 'poll_method\tepoll\nsip_listen\t127.0.0.1:5072\nmodule_path\t/usr/lib/baresip/modules\nmodule\tstdio.so\nmodule_app\taccount.so\n' \
  >"$BARESIP_DIR/config"
ACCOUNT="<sip:$USER_NAME@$REALM>;auth_pass=$PASSWORD;outbound=\"$OUTBOUND\";regint=600"
printf '%s\n' "$ACCOUNT" >"$BARESIP_DIR/accounts"

SIPSAK_TRANSPORT=""
[ "$TARGET_TRANSPORT" = tcp ] && SIPSAK_TRANSPORT=" -E tcp"

# The gRPC API: a fresh admin token on every demo start (the old one stops
# working), printed by switchboard itself below the banner.
SBCTL=$(cd "$(dirname "$BINARY")" && pwd)/sbctl
if [ "$GRPC_LISTEN" = off ] || [ -z "$GRPC_LISTEN" ]; then
  API_TEXT="
 gRPC API: off (GRPC_LISTEN=off)"
else
  rm -f "$DATA_DIR/api_tokens.yaml"
  API_TEXT="
 gRPC API on $GRPC_LISTEN (docs/api.md). Switchboard prints a new admin token just
 below, with a ready line; or export it and use sbctl:
   export SWITCHBOARD_TOKEN=sbt_...        # the token printed below
   $SBCTL --server $GRPC_LISTEN realm list
   $SBCTL --server $GRPC_LISTEN watch      # registration events, live
   $SBCTL --server $GRPC_LISTEN call create --to sip:$USER_NAME@$REALM --wait answered
                                           # rings the registered device (docs/calls.md)"
fi
cat <<EOF

=====================================================================
 Switchboard demo
   realm     $REALM
   user      $USER_NAME
   password  $PASSWORD
   listen    ${LISTEN[*]}
   config    $CONFIG
   data      $DATA_DIR
   metrics   http://$METRICS_LISTEN/metrics  (/healthz, /readyz; docs/metrics.md)

 Register with sipsak (-p, the server, must come before -s):
   sipsak -p $TARGET$SIPSAK_TRANSPORT -U -s sip:$USER_NAME@$REALM -C sip:$USER_NAME@127.0.0.1:5070 -a $PASSWORD -u $USER_NAME -x 600 -i -vv

 Query the bindings (a REGISTER without Contact):
   sipsak -p $TARGET$SIPSAK_TRANSPORT -U -s sip:$USER_NAME@$REALM -C empty -a $PASSWORD -u $USER_NAME -i -vvv

 Register with baresip (q or Ctrl-C quits; it unregisters first):
   baresip -n 127.0.0.1 -f $BARESIP_DIR
   account line: $ACCOUNT
$API_TEXT
=====================================================================

EOF
exec "$BINARY" --config "$CONFIG"
