#!/usr/bin/env bash
# Decoding speed of gpud against a llama2.c `run` binary, both measured in this run.
# Usage: bench/run.sh REFERENCE_BINARY TOKENIZER_BIN MODEL...
#   MODEL: a llama2.c checkpoint, or random-15M / random-110M (written with random weights).
# Environment: BENCH_STEPS (256), BENCH_REPEATS (5), BENCH_BATCH_THREADS (1), JAVA_HOME, GPUD_JAR.
# Needs the packaged jar: ./mvnw -B -q package -DskipTests
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
jar="${GPUD_JAR:-$here/../target/gpud.jar}"
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
version="$("$java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java\.specification\.version/ { print $2; exit }')"
[ "${version:-0}" -ge 25 ] 2>/dev/null || { echo "bench: needs Java 25 or newer (set JAVA_HOME); $java is ${version:-unknown}" >&2; exit 2; }
[ -f "$jar" ] || { echo "bench: $jar is missing; run ./mvnw -B -q package -DskipTests" >&2; exit 2; }
exec "$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx256m \
  -cp "$jar" "$here/Bench.java" "$@"
