#!/usr/bin/env bash
# Matrix × vector throughput of each tensor type's CPU kernel, one thread, batch 1 and 8
# (GB/s of weights). Usage: bench/quant-kernels.sh [ROWS COLS REPEATS [TYPES,...]]
# Needs the packaged jar (./mvnw -B -q package -DskipTests).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
jar="${GPUD_JAR:-$here/../target/gpud.jar}"
source "$here/java.sh"
need_jar "$jar"
classes="$(mktemp -d)"
trap 'rm -rf "$classes"' EXIT
"${JAVA_HOME:+$JAVA_HOME/bin/}javac" --add-modules jdk.incubator.vector -nowarn -cp "$jar" -d "$classes" \
  "$here/QuantKernelBench.java" 2> >(grep -v "incubator" >&2)
"$java" --add-modules jdk.incubator.vector -Xmx2g -cp "$jar:$classes" io.gpud.inference.QuantKernelBench \
  "$here/../src/test/resources/io/gpud/inference/quants/quant-types.gguf" "$@" 2> >(grep -v "incubator" >&2)
