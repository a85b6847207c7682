#!/usr/bin/env bash
# Serving race: `gpud run` against llama.cpp's `llama-server -np 8` on the same GGUF file.
# Usage: bench/llamacpp-serve.sh LLAMA_SERVER_BINARY MODEL.gguf
#
# Both servers run at once, pinned to the same first THREADS cores with THREADS threads,
# each with 8 sequences in its batch (llama-server: 8 slots of CTX tokens; gpud:
# engine.maxConcurrent 8). Each gets one unmeasured warm-up round, then ROUNDS measured
# rounds alternate between them. A round is bench/serve-race.py: 8 concurrent streaming
# /v1/chat/completions requests, greedy, max_tokens TOKENS, the model's own chat template
# (the file needs a tokenizer and template: bench/random-gguf.py --tokenizer). Prints each
# round and the medians of aggregate tokens/s and mean time to first token, with
# gpud / llama.cpp.
#
# Environment: BENCH_THREADS (2), BENCH_ROUNDS (5), BENCH_TOKENS (64), BENCH_CTX (512),
#   BENCH_PORT (18400; the next four ports are used too), JAVA_HOME, GPUD_JAR.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
jar="${GPUD_JAR:-$here/../target/gpud.jar}"
source "$here/java.sh"
need_jar "$jar"

if [ $# -ne 2 ]; then
  echo "usage: bench/llamacpp-serve.sh LLAMA_SERVER_BINARY MODEL.gguf" >&2
  exit 2
fi
server="$1"
model="$2"
[ -x "$server" ] || { echo "llamacpp-serve.sh: $server is not an executable" >&2; exit 2; }
[ -f "$model" ] || { echo "llamacpp-serve.sh: no such file: $model" >&2; exit 2; }
threads="${BENCH_THREADS:-2}"
rounds="${BENCH_ROUNDS:-5}"
tokens="${BENCH_TOKENS:-64}"
ctx="${BENCH_CTX:-512}"
port="${BENCH_PORT:-18400}"
llama_port="$port"
gpud_port="$((port + 1))"
cores="$(taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' | while IFS=- read -r a b; do seq "$a" "${b:-$a}"; done \
  | head -n "$threads" | paste -sd, -)"

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

taskset -c "$cores" "$server" -m "$model" -np 8 -c "$((8 * ctx))" -t "$threads" -tb "$threads" \
  --host 127.0.0.1 --port "$llama_port" >"$work/llama-server.log" 2>&1 &
pids+=($!)
cat >"$work/gpud.yaml" <<EOF
engine:
  maxConcurrent: 8
  threads: $threads
EOF
GPUD_JAR="$jar" taskset -c "$cores" "$here/../bin/gpud" run --config "$work/gpud.yaml" --model "$model" \
  --model-name race --host 127.0.0.1 --port "$gpud_port" --metrics-port "$((port + 2))" \
  --gossip-port "$((port + 3))" --admin-socket "$work/admin.sock" --data-dir "$work/data" \
  --insecure-cluster >"$work/gpud.log" 2>&1 &
pids+=($!)

wait_ready() { # name url log
  for _ in $(seq 600); do
    if curl -fs "$2" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "llamacpp-serve.sh: $1 did not become ready; its log:" >&2
  tail -20 "$3" >&2
  exit 1
}
wait_ready llama-server "http://127.0.0.1:$llama_port/health" "$work/llama-server.log"
wait_ready gpud "http://127.0.0.1:$gpud_port/health/ready" "$work/gpud.log"

race() { # url model round
  python3 "$here/serve-race.py" "$1" "$2" 8 "$tokens" "$3"
}
race "http://127.0.0.1:$llama_port" race 0 >/dev/null
race "http://127.0.0.1:$gpud_port" race 0 >/dev/null
results="$work/results"
for r in $(seq "$rounds"); do
  printf 'llama.cpp\t%s\n' "$(race "http://127.0.0.1:$llama_port" race "$r")" | tee -a "$results"
  printf 'gpud\t%s\n' "$(race "http://127.0.0.1:$gpud_port" race "$r")" | tee -a "$results"
done

echo
python3 - "$results" <<'EOF'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    engine, data = line.rstrip("\n").split("\t", 1)
    runs.setdefault(engine, []).append(json.loads(data))
med = {e: {k: statistics.median(r[k] for r in rs) for k in ("tok_s", "ttft_mean_s")} for e, rs in runs.items()}
for e in ("llama.cpp", "gpud"):
    print(f"{e:10} aggregate {med[e]['tok_s']:8.2f} tok/s   mean time to first token {med[e]['ttft_mean_s']:.3f} s")
print(f"gpud / llama.cpp: aggregate {med['gpud']['tok_s'] / med['llama.cpp']['tok_s']:.2f}x, "
      f"time to first token {med['gpud']['ttft_mean_s'] / med['llama.cpp']['ttft_mean_s']:.2f}x")
EOF
