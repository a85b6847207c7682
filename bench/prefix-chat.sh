#!/usr/bin/env bash
# The prefix cache on one engine: time to first token of the last turn of a long chat with
# the cache on and off, interleaved in one process, and the hit rate (bench/PrefixChatBench.java).
#
#   bench/prefix-chat.sh MODEL.gguf [TURNS] [REPEATS]   (needs target/gpud.jar: ./mvnw -B -q -DskipTests package)
#   TURNS=20 REPEATS=3 by default; BENCH_OPTS for -Dthreads=N -Dsystem=N -Duser=MIN,MAX -Dreply=N.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/java.sh
need_jar target/gpud.jar
[ $# -ge 1 ] || { echo "usage: bench/prefix-chat.sh MODEL.gguf [TURNS] [REPEATS]" >&2; exit 2; }
# shellcheck disable=SC2086
"$java" ${BENCH_OPTS:-} --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx512m \
  -cp target/gpud.jar bench/PrefixChatBench.java "$1" "${2:-20}" "${3:-3}" 2>&1 | grep -v 'incubator modules'
