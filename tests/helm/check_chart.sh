#!/usr/bin/env bash
# The Helm chart's checks (ctest label "helm"; also runnable by hand):
#   1. yamllint --strict on the chart's values files (values.yaml, ci/*.yaml, tests/helm/invalid/*.yaml)
#   2. helm lint --strict, with the default values and with each ci/*-values.yaml
#   3. helm template --kube-version 1.30.0 of the same, then validate_manifests.cjs on the output:
#      Kubernetes JSON schemas (npm kubernetes-models), no unknown fields, chart invariants
#   4. each tests/helm/invalid/*.yaml must be refused by values.schema.json, with the error its
#      "# expect:" line names
#   5. with --switchboard BIN: each rendering's configuration, assembled as the pod's init
#      container does, is accepted by the real server (started on loopback, port 0, then SIGTERM);
#      shapes with keys of later issues (metrics.listen, store.kind) are reported as waiting
#      for them while the binary refuses exactly those keys
# Tools (helm v3.17.2, node modules) come from get_tools.sh, cached under build/tools.
#
# usage: tests/helm/check_chart.sh [--tools DIR] [--work DIR] [--switchboard BIN] [--chart DIR]
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
chart=$root/helm/switchboard
tools=$root/build/tools
work=""
switchboard=""
while [ $# -gt 0 ]; do
  case $1 in
    --tools) tools=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --switchboard) switchboard=$2; shift 2 ;;
    --chart) chart=$2; shift 2 ;;
    *) echo "check_chart: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$work" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
rm -rf "$work/rendered" "$work/extract" "$work/run"
mkdir -p "$work/rendered" "$work/extract" "$work/run" "$work/home"

passed=0 failed=0 waiting=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
finish() {
  echo "helm chart checks: $passed passed, $failed failed${waiting:+, $waiting waiting for later issues}"
  [ "$failed" -eq 0 ]
  exit
}

start=$(date +%s)
helm=$(bash "$here/get_tools.sh" "$tools" | tail -n 1) || { bad "get_tools.sh: cannot get helm and the node modules"; finish; }
[ -x "$helm" ] || { bad "no helm at $helm"; finish; }
# helm keeps its config, cache and plugins under these: never the user's.
export HOME=$work/home XDG_CACHE_HOME=$work/home/cache XDG_CONFIG_HOME=$work/home/config XDG_DATA_HOME=$work/home/data
echo "check_chart: chart $chart, $("$helm" version --short), node $(node --version)"

ci_files=("$chart"/ci/*-values.yaml)
invalid_files=("$here"/invalid/*.yaml)

# 1. yamllint
if command -v yamllint >/dev/null; then
  if out=$(yamllint --strict -f parsable -c "$here/yamllint.yaml" "$chart/values.yaml" "${ci_files[@]}" "${invalid_files[@]}" 2>&1); then
    ok "yamllint: values.yaml, ${#ci_files[@]} ci values files, ${#invalid_files[@]} invalid values files"
  else
    bad "yamllint:"; echo "$out" | sed 's/^/     /'
  fi
else
  bad "yamllint is missing (Debian package yamllint: make deps)"
fi

# 2 and 3. lint and render every shape
renders=()
for values in "" "${ci_files[@]}"; do
  if [ -z "$values" ]; then name=default; args=(); else name=$(basename "$values" .yaml); args=(-f "$values"); fi
  if out=$("$helm" lint --strict "$chart" "${args[@]}" 2>&1); then
    ok "helm lint --strict ($name)"
  else
    bad "helm lint --strict ($name):"; echo "$out" | sed 's/^/     /'
  fi
  if "$helm" template "sb-$name" "$chart" --namespace voice --kube-version 1.30.0 "${args[@]}" \
      >"$work/rendered/$name.yaml" 2>"$work/rendered/$name.err"; then
    ok "helm template --kube-version 1.30.0 ($name): $(grep -c '^kind:' "$work/rendered/$name.yaml") manifests"
    renders+=("$name=$work/rendered/$name.yaml")
  else
    bad "helm template ($name):"; sed 's/^/     /' "$work/rendered/$name.err"
  fi
done

if [ ${#renders[@]} -gt 0 ]; then
  while IFS= read -r line; do
    case $line in
      "ok   "*) ok "manifests ${line#ok   }" ;;
      "FAIL "*) bad "manifests ${line#FAIL }" ;;
      *) [ -n "$line" ] && bad "validate_manifests.cjs: $line" ;;
    esac
  done < <(node "$here/validate_manifests.cjs" --modules "$tools/helm-validate" --extract "$work/extract" "${renders[@]}" 2>&1)
fi

# 4. values the schema must refuse
for f in "${invalid_files[@]}"; do
  name=$(basename "$f")
  expect=$(sed -n 's/^# expect: //p' "$f" | head -n 1)
  if [ -z "$expect" ]; then bad "invalid/$name: no '# expect: TEXT' line"; continue; fi
  if out=$("$helm" template sb "$chart" --kube-version 1.30.0 -f "$f" 2>&1 >/dev/null); then
    bad "invalid/$name: rendered although its values are invalid"
  elif grep -qF -- "$expect" <<<"$out"; then
    ok "invalid/$name refused: $(grep -F -- "$expect" <<<"$out" | head -n 1 | sed 's/^- //')"
  else
    bad "invalid/$name refused, but not for '$expect':"; echo "$out" | sed 's/^/     /'
  fi
done

# 5. the configuration against the real server
tls_dir=$work/run/tls
make_tls() {
  [ -f "$tls_dir/tls.crt" ] && return 0
  mkdir -p "$tls_dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=switchboard.test \
    -keyout "$tls_dir/tls.key" -out "$tls_dir/tls.crt" >/dev/null 2>&1 && cp "$tls_dir/tls.crt" "$tls_dir/ca.crt"
}

run_server() {  # NAME: assemble the configuration, start the server, stop it
  local name=$1 dir=$work/extract/$1 run=$work/run/$1
  mkdir -p "$run/etc" "$run/data"
  [ -f "$dir/config-source/assemble-config.sh" ] || { bad "config ($name): no assemble-config.sh in the ConfigMap"; return; }
  # The init container's script with the pod's paths mapped into this run's folders.
  sed -e "s#/etc/switchboard-config#$dir/config-source#g" -e "s#/etc/switchboard-secret#$dir/secret#g" \
      -e "s#/etc/switchboard/#$run/etc/#g" "$dir/config-source/assemble-config.sh" >"$run/assemble.sh"
  local init_env=() line
  main_env=()
  while IFS= read -r line; do init_env+=("$line"); done <"$dir/init.env"
  while IFS= read -r line; do main_env+=("$line"); done <"$dir/main.env"
  if ! env -i PATH=/usr/bin:/bin "${init_env[@]}" /bin/sh "$run/assemble.sh" >"$run/assemble.out" 2>&1; then
    bad "config ($name): the init container's script failed:"; sed 's/^/     /' "$run/assemble.out"; return
  fi
  local config=$run/etc/switchboard.yaml
  if grep -q '/etc/switchboard-tls/' "$config"; then
    make_tls || { bad "config ($name): openssl could not make a test certificate"; return; }
    sed -i "s#/etc/switchboard-tls/#$tls_dir/#g" "$config"
  fi
  # Keys of later issues the binary may not know yet: refused ones are taken out (and reported
  # as waiting), so the rest of the configuration is still checked.
  local attempt key rc why waits=""
  for attempt in 1 2 3 4; do
    start_server "$run" "$config"; rc=$?
    [ $rc -eq 0 ] && break
    why=$(grep -v '^{' "$run/stderr" | head -n 1)
    key=$(sed -nE 's/^switchboard: .*:[0-9]+: ([a-z_.]+): unknown key.*/\1/p' <<<"$why")
    case $rc:$key in
      2:metrics) waits="$waits metrics.listen (issue 7)"; drop_top_level "$config" metrics ;;
      2:replica) waits="$waits replica (issue 8)"; drop_top_level "$config" replica ;;
      2:store.kind | 2:store.url) waits="$waits store.kind/url (issue 8)"; drop_top_level "$config" store ;;
      *) break ;;
    esac
  done
  if [ -n "$waits" ]; then
    echo "wait config ($name): this switchboard does not know yet:$waits"
    waiting=$((waiting + 1))
  fi
  local what="the assembled configuration${waits:+ (less what it does not know yet)}"
  case $rc in
    0) ok "config ($name): switchboard started with $what and stopped cleanly on SIGTERM" ;;
    1) if grep -q 'kind: redis' "$config"; then
         ok "config ($name): switchboard accepted $what; it could not start without a Redis: $(grep -v '^{' "$run/stderr" | head -n 1)"
       else
         bad "config ($name): switchboard could not start (exit 1): $(grep -v '^{' "$run/stderr" | head -n 1)"
       fi ;;
    *) bad "config ($name): switchboard refused $what (exit $rc): ${why:-$(tail -n 3 "$run/stderr")}"
       grep -v 'password\|sha256\|url:' "$config" | head -n 60 | sed 's/^/     /' ;;
  esac
}

drop_top_level() {  # FILE KEY: remove the top-level block KEY: from a YAML file
  awk -v key="$2" '/^[^[:space:]#-][^:]*:/ { k = $0; sub(/:.*/, "", k); skip = (k == key) } !skip' "$1" >"$1.tmp" &&
    mv "$1.tmp" "$1"
}

start_server() {  # RUN CONFIG: 0 started and stopped cleanly, 3 no start within 10 s, else the exit status
  local run=$1 config=$2 pid i
  rm -rf "$run/data"; mkdir -p "$run/data"
  # Flags win over the file (docs/configuration.md): loopback, free ports, a scratch data dir.
  (cd "$run" && exec env -i PATH=/usr/bin:/bin HOME="$run" "${main_env[@]}" "$switchboard" --config "$config" \
      --sip-listen udp:127.0.0.1:0 --sip-listen tcp:127.0.0.1:0 --grpc-listen 127.0.0.1:0 \
      --data-dir "$run/data" >"$run/stdout" 2>"$run/stderr") &
  pid=$!
  for i in $(seq 1 100); do
    if grep -q '"msg":"started"' "$run/stderr" 2>/dev/null; then
      kill -TERM "$pid"; wait "$pid"; local rc=$?
      [ $rc -eq 0 ] && return 0
      echo "switchboard: exited $rc on SIGTERM" >>"$run/stderr"
      return 4
    fi
    if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; return $?; fi
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  echo "switchboard: did not start within 10 s" >>"$run/stderr"
  return 3
}

# 6. the init container's script refuses a fragment of the user's own Secret (existingSecret)
# that could clash with the ConfigMap's keys or hide behind a second YAML document.
script=$work/extract/default/config-source/assemble-config.sh
if [ -f "$script" ]; then
  for bad_fragment in 'sip:\n  listen: ["udp:0.0.0.0:5070"]\n' 'api:\n  tokens: []\n---\nrealms: []\n'; do
    frag=$work/run/fragment
    rm -rf "$frag" && mkdir -p "$frag/secret" "$frag/etc"
    printf "$bad_fragment" >"$frag/secret/switchboard-secret.yaml"
    sed -e "s#/etc/switchboard-config#$(dirname "$script")#g" -e "s#/etc/switchboard-secret#$frag/secret#g" \
        -e "s#/etc/switchboard/#$frag/etc/#g" "$script" >"$frag/assemble.sh"
    first=$(printf "$bad_fragment" | head -n 1)
    if out=$(env -i PATH=/usr/bin:/bin POD_NAME=p-0 POD_IP=10.0.0.10 /bin/sh "$frag/assemble.sh" 2>&1); then
      bad "init container: accepted a Secret fragment starting with '$first'"
    elif [ -e "$frag/etc/switchboard.yaml" ]; then
      bad "init container: refused the fragment starting with '$first' but left a configuration behind"
    else
      ok "init container refuses a Secret fragment starting with '$first': $out"
    fi
  done
fi

if [ -n "$switchboard" ]; then
  if [ -x "$switchboard" ]; then
    switchboard=$(cd "$(dirname "$switchboard")" && pwd)/$(basename "$switchboard")
    for r in "${renders[@]}"; do run_server "${r%%=*}"; done
  else
    echo "skip configuration check: no switchboard binary at $switchboard"
  fi
fi

echo "check_chart: $(( $(date +%s) - start )) s"
finish
