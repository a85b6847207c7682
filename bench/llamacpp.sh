#!/usr/bin/env bash
# gpud's CPU engine against llama.cpp on the same GGUF files, measured in this run.
# Usage: bench/llamacpp.sh LLAMA_BENCH_BINARY MODEL.gguf...
#
# For each model and thread count, rounds alternate between the two engines: llama.cpp's
# `llama-bench -r 1` (which warms up before it measures) and `gpud generate --warmup`
# (which runs the same request once, unmeasured, first). Each engine is pinned to the
# first THREADS cores with taskset. Two tests, as llama-bench names them:
#   pp512  prompt processing: a 512-token prompt in one batch, rate = tokens / time to the
#          last prompt token's logits (gpud: `prompt tok/s`, --batch-tokens 512);
#   tg128  decode: 128 tokens one at a time from position 1 (llama-bench from 0), rate =
#          tokens / time (gpud: `achieved tok/s`, one forward step and the greedy choice per
#          token, --print-ids so no text is decoded).
# Prints each round and then, per model, test and thread count, the median of each engine
# and gpud / llama.cpp.
#
# gpud runs as bin/gpud, with GPUD_JAVA_OPTS if set.
# Environment: BENCH_THREADS ("1 2"), BENCH_ROUNDS (3), BENCH_TESTS ("pp512 tg128"),
#   JAVA_HOME, GPUD_JAR (target/gpud.jar; build it with ./mvnw -B -q -DskipTests package).
# Build llama-bench from llama.cpp's source yourself (this script downloads nothing);
# random-weight models of a given size come from bench/random-gguf.py and llama-quantize.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
jar="${GPUD_JAR:-$here/../target/gpud.jar}"
source "$here/java.sh"
need_jar "$jar"

if [ $# -lt 2 ]; then
  echo "usage: bench/llamacpp.sh LLAMA_BENCH_BINARY MODEL.gguf..." >&2
  exit 2
fi
llama_bench="$1"
shift
[ -x "$llama_bench" ] || { echo "llamacpp.sh: $llama_bench is not an executable" >&2; exit 2; }
command -v taskset >/dev/null || { echo "llamacpp.sh: taskset (util-linux) is missing" >&2; exit 2; }
threads_list="${BENCH_THREADS:-1 2}"
rounds="${BENCH_ROUNDS:-3}"
tests="${BENCH_TESTS:-pp512 tg128}"

# 512 prompt ids below 32000 (every vocabulary here is at least that large), the same each run
prompt512="$(awk 'BEGIN { srand(7); for (i = 0; i < 512; i++) printf "%s%d", (i ? "," : ""), int(rand() * 32000) }')"
results="$(mktemp)"
trap 'rm -f "$results"' EXIT

cores() { # the first N cores this process may use, as a taskset list
  taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' | while IFS=- read -r a b; do seq "$a" "${b:-$a}"; done \
    | head -n "$1" | paste -sd, -
}

llama_rate() { # model test threads -> tok/s
  local args
  case "$2" in
    pp512) args=(-p 512 -n 0 -b 512 -ub 512) ;;
    tg128) args=(-p 0 -n 128) ;;
  esac
  taskset -c "$(cores "$3")" "$llama_bench" -m "$1" "${args[@]}" -t "$3" -r 1 -o jsonl 2>/dev/null \
    | python3 -c 'import json, sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["avg_ts"])'
}

gpud_rate() { # model test threads -> tok/s
  local args key
  case "$2" in
    pp512) args=(--prompt-ids "$prompt512" --max-tokens 1 --batch-tokens 512); key="prompt tok/s" ;;
    tg128) args=(--prompt-ids 1 --max-tokens 129 --ignore-eos); key="achieved tok/s" ;;
  esac
  GPUD_JAR="$jar" taskset -c "$(cores "$3")" "$here/../bin/gpud" generate --model "$1" "${args[@]}" \
      --threads "$3" --temperature 0 --print-ids --warmup 2>&1 >/dev/null | sed -n "s|^$key: ||p"
}

for model in "$@"; do
  [ -f "$model" ] || { echo "llamacpp.sh: no such file: $model" >&2; exit 2; }
  for t in $threads_list; do
    for test in $tests; do
      for r in $(seq "$rounds"); do
        l="$(llama_rate "$model" "$test" "$t")"
        g="$(gpud_rate "$model" "$test" "$t")"
        [ -n "$l" ] && [ -n "$g" ] || { echo "llamacpp.sh: a run gave no rate ($model $test t=$t)" >&2; exit 1; }
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(basename "$model")" "$test" "$t" "$r" "$l" "$g" | tee -a "$results"
      done
    done
  done
done

echo
python3 - "$results" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    model, test, threads, _, l, g = line.rstrip("\n").split("\t")
    rows.setdefault((model, test, int(threads)), []).append((float(l), float(g)))
print(f"{'model':40} {'test':6} {'thr':>3} {'llama.cpp':>10} {'gpud':>10} {'ratio':>6}")
for (model, test, threads), runs in rows.items():
    l = statistics.median(r[0] for r in runs)
    g = statistics.median(r[1] for r in runs)
    print(f"{model:40} {test:6} {threads:3d} {l:10.2f} {g:10.2f} {g / l:6.2f}")
EOF
