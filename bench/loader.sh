#!/usr/bin/env bash
# Model loader throughput against dd on the same file, warm and cold, against a
# throughput-capped source, and the cost of checksums; all measured in this run.
# Usage: bench/loader.sh WORK_DIR
#   WORK_DIR gets a store with one version of BENCH_SIZE bytes (deleted at the end).
# Environment: BENCH_SIZE (4GiB), BENCH_RATE (bytes/s for the capped run; default the size
#   over 30 s), BENCH_REPEATS (5), BENCH_READERS (8), BENCH_CHUNK (256MiB),
#   BENCH_SUB_READ (1MiB), BENCH_SHA (1; 0 skips the SHA-256 runs), JAVA_HOME, GPUD_JAR.
# Needs the packaged jar (./mvnw -B -q package -DskipTests), dd with iflag=nocache and fincore.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
jar="${GPUD_JAR:-$here/../target/gpud.jar}"
source "$here/java.sh"
need_jar "$jar"
[ $# -eq 1 ] || { echo "usage: bench/loader.sh WORK_DIR" >&2; exit 2; }
command -v fincore >/dev/null || { echo "bench: needs fincore (util-linux) to check page-cache eviction" >&2; exit 2; }
# the loader logs its progress at INFO on stderr; the bench prints its own lines on stdout
"$java" --enable-native-access=ALL-UNNAMED -Xmx256m -cp "$jar" "$here/LoaderBench.java" "$1" 2> >(grep -v " INFO " >&2)
