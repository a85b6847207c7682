#!/usr/bin/env bash
# Decoding speed of gpud against a llama2.c `run` binary, both measured in this run.
# Usage: bench/run.sh REFERENCE_BINARY TOKENIZER_BIN MODEL...
#   MODEL: a llama2.c checkpoint, or random-15M / random-110M (written with random weights).
# Environment: BENCH_STEPS (256), BENCH_REPEATS (5), BENCH_BATCH_THREADS (1), JAVA_HOME, GPUD_JAR.
# Needs the packaged jar: ./mvnw -B -q package -DskipTests
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
jar="${GPUD_JAR:-$here/../target/gpud.jar}"
source "$here/java.sh"
need_jar "$jar"
exec "$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx256m \
  -cp "$jar" "$here/Bench.java" "$@"
