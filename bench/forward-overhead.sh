#!/usr/bin/env bash
# Forwarding overhead vs calling the serving node directly, on loopback (SPEC section 5:
# p50 <= 3 ms, p99 <= 10 ms). Starts two daemons on the demo model that gossip with each
# other, drains the first (a draining node forwards every request to a peer), then sends
# the same request through the first and straight to the second, interleaved.
#
#   bench/forward-overhead.sh [ROUNDS]     (needs target/gpud.jar: ./mvnw -B -q -DskipTests package)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/java.sh
need_jar target/gpud.jar
rounds="${1:-500}"
base="${GPUD_BENCH_PORT:-18580}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
bin/gpud keyring generate > "$work/gossip.keyring"   # both nodes gossip under it
start() { # name port gossip-port [join]
  mkdir -p "$work/$1"
  cat > "$work/$1/gpud.yaml" <<YAML
gossip:
  profile: loopback
  # Two daemons on loopback with no keyring or peer certificates.
  insecure: true
  bindAddress: 127.0.0.1
  port: $3
  join: [${4:-}]
  keyringFile: $work/gossip.keyring
YAML
  bin/gpud run --config "$work/$1/gpud.yaml" --demo --host 127.0.0.1 --port "$2" --metrics-port "$(( $2 + 1 ))" \
    --data-dir "$work/$1" --node-id "$1" > "$work/$1/daemon.log" 2>&1 &
  pids+=($!)
}
start fwd-serving "$base" "$(( base + 2 ))"
start fwd-entry "$(( base + 10 ))" "$(( base + 12 ))" "127.0.0.1:$(( base + 2 ))"
for port in "$base" "$(( base + 10 ))"; do
  for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$port/health/ready" > /dev/null && break
    sleep 0.2
  done
done
bin/gpud drain --admin-socket "$work/fwd-entry/admin.sock" > /dev/null
for _ in $(seq 1 100); do
  bin/gpud route --explain --model gpud-demo --json --admin-socket "$work/fwd-entry/admin.sock" \
    | grep -q '"outcome" : "forward"' && break
  sleep 0.2
done
"$java" -cp target/gpud.jar bench/ForwardOverhead.java "http://127.0.0.1:$(( base + 10 ))" \
  "http://127.0.0.1:$base" fwd-serving "$rounds"
