#!/usr/bin/env bash
# CUDA decode tokens/s at batch 1, 8 and 32 (random weights, Llama 2 7B dimensions) against
# the device-to-device copy bandwidth measured in the same run. Needs an NVIDIA GPU with
# about 20 GB free (13.5 GB of F16 weights, KV caches, activations), its driver, and the
# packaged jar: ./mvnw -B -q package -DskipTests
# Usage: bench/cuda-decode.sh [TYPE: F16|BF16|Q8_0|F32 (F16)] [STEPS (128)] [REPEATS (5)]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
jar="${GPUD_JAR:-$here/../target/gpud.jar}"
source "$here/java.sh"
need_jar "$jar"
exec "$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx4g \
  -cp "$jar" "$here/CudaDecodeBench.java" "$@"
