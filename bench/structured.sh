#!/usr/bin/env bash
# Structured output's cost: constrained (a JSON schema) against unconstrained token rate on
# the same model and prompt, interleaved (bench/StructuredBench.java). Target: constrained
# at least 0.8x unconstrained. Runs the demo model, then each GGUF named on the command line
# (e.g. a Llama 3 file, for a 128K vocabulary).
#
#   bench/structured.sh [MODEL.gguf ...]   (needs target/gpud.jar: ./mvnw -B -q -DskipTests package)
#   TOKENS=128 REPEATS=5 WARMUP=3 by default (runs of each kind before measuring).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/java.sh
need_jar target/gpud.jar
for model in demo "$@"; do
  "$java" -Dwarmup="${WARMUP:-3}" --add-modules jdk.incubator.vector -cp target/gpud.jar bench/StructuredBench.java "$model" \
    "${TOKENS:-128}" "${REPEATS:-5}" 2>&1 | grep -v 'incubator modules'
done
