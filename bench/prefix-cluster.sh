#!/usr/bin/env bash
# Prefix-cache routing benchmark (issue 20): N gpud daemons on loopback under a multi-turn
# chat workload, once per routing policy (round robin, load-only, load + cache affinity), with
# the same seeded workload; prints TTFT, throughput, cache hit rate, forwards and per-node load.
#
#   bench/prefix-cluster.sh --help                      every knob
#   bench/prefix-cluster.sh --backend sim --nodes 8     the acceptance run (bench/README.md)
#   bench/prefix-cluster.sh --nodes 3 --backend cpu --engine-threads 1 --no-cache-term \
#     --user-rate 0.5 --turns 3-6 --think 2 --system-tokens 200-400 --warmup 10 --duration 30
#                                                       a small run on the CPU engine
# Needs target/gpud.jar (./mvnw -B -q -DskipTests package) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/java.sh
need_jar target/gpud.jar
exec python3 bench/prefix-cluster.py "$@"
