#!/usr/bin/env bash
# Secure envelope overhead vs the plain route, on a local-mode daemon started here.
# Usage: bench/secure-overhead.sh [REQUESTS] [ROUNDS] [SESSION_LENGTH] [WARMUP_REQUESTS]
#   (needs target/gpud.jar: ./mvnw -B -q -DskipTests package)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
source bench/java.sh
need_jar target/gpud.jar
requests="${1:-300}"
rounds="${2:-3}"
session_length="${3:-100}"
warmup="${4:-1000}"
data="$(mktemp -d)"
port="${GPUD_BENCH_PORT:-18480}"
bin/gpud run --demo --insecure-cluster --secure local --host 127.0.0.1 --port "$port" --metrics-port "$((port + 1))" \
  --data-dir "$data" > "$data/daemon.log" 2>&1 &
daemon=$!
trap 'kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 600); do
  if curl -sf "http://127.0.0.1:$port/health/ready" > /dev/null; then break; fi
  sleep 0.2
done
kms="$(grep -o -- '--kms-endpoint http://127.0.0.1:[0-9]*' "$data/daemon.log" | head -1 | cut -d' ' -f2)"
"$java" -cp target/gpud.jar bench/SecureOverhead.java "http://127.0.0.1:$port" "$kms" "$requests" "$rounds" "$session_length" "$warmup"
