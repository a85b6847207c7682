#!/usr/bin/env bash
# CUDA decode tokens/s at batch 1, 8 and 32 (random weights, Llama 2 7B dimensions) against
# the device-to-device copy bandwidth measured in the same run. Needs an NVIDIA GPU with
# about 20 GB free (13.5 GB of F16 weights, KV caches, activations), its driver, and the
# packaged jar: ./mvnw -B -q package -DskipTests
# Usage: bench/cuda-decode.sh [TYPE: F16|BF16|Q8_0|F32 (F16)] [STEPS (128)] [REPEATS (5)]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
jar="${GPUD_JAR:-$here/../target/gpud.jar}"
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
version="$("$java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java\.specification\.version/ { print $2; exit }')"
[ "${version:-0}" -ge 25 ] 2>/dev/null || { echo "bench: needs Java 25 or newer (set JAVA_HOME); $java is ${version:-unknown}" >&2; exit 2; }
[ -f "$jar" ] || { echo "bench: $jar is missing; run ./mvnw -B -q package -DskipTests" >&2; exit 2; }
exec "$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx4g \
  -cp "$jar" "$here/CudaDecodeBench.java" "$@"
