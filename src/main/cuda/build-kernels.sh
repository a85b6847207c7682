#!/usr/bin/env bash
# Compiles src/main/cuda/*.cu into the kernel resources of io.gpud.inference.cuda:
#   llama.ptx     PTX ISA 8.0 for compute_80 (JIT by any driver from r525, CUDA 12.0, on)
#   llama.fatbin  SASS for sm_80 and sm_90 plus that PTX (loaded first; the engine falls
#                 back to llama.ptx when the driver refuses the fatbin)
#   llama.sources.sha256  the SHA-256 of the sources and of this script's compile flags
#
# nvcc (12.x or 13.x) emits a newer PTX ISA version than older drivers JIT; the kernels use
# nothing past ISA 8.0, so the version line is set to 8.0 and ptxas then assembles that
# PTX, which fails the build if any instruction needed a newer ISA.
#
# Usage:
#   build-kernels.sh --update        recompile into src/main/resources (commit the result)
#   build-kernels.sh --build DIR     recompile into DIR when nvcc is present and the
#                                    committed hash matches the sources; without nvcc, do
#                                    nothing (the committed resources are used)
#   build-kernels.sh --hash          print the hash of the sources
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
committed="$repo/src/main/resources/io/gpud/inference/cuda"
PTX_ISA=8.0
NVCC_FLAGS=(-O3 -std=c++17 -arch=compute_80 --ptx)
FATBIN_CODES="arch=compute_80,code=[sm_80,compute_80] -gencode arch=compute_90,code=sm_90"

sources_hash() {
  # the .cu sources in name order, then the flags, so a flag change also needs a rebuild
  (cd "$here" && cat $(ls *.cu | LC_ALL=C sort) && echo "${NVCC_FLAGS[*]} $FATBIN_CODES isa=$PTX_ISA") \
    | sha256sum | cut -d' ' -f1
}

find_nvcc() {
  if command -v nvcc >/dev/null 2>&1; then command -v nvcc;
  elif [ -x /usr/local/cuda/bin/nvcc ]; then echo /usr/local/cuda/bin/nvcc;
  else echo ""; fi
}

compile() {
  local nvcc="$1" out="$2" tmp
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  "$nvcc" "${NVCC_FLAGS[@]}" -o "$tmp/raw.ptx" "$here/llama.cu"
  sed -E "s/^\.version [0-9]+\.[0-9]+$/.version $PTX_ISA/" "$tmp/raw.ptx" > "$tmp/llama.ptx"
  # shellcheck disable=SC2086
  "$nvcc" -fatbin -gencode $FATBIN_CODES -o "$tmp/llama.fatbin" "$tmp/llama.ptx"
  mkdir -p "$out"
  cp "$tmp/llama.ptx" "$tmp/llama.fatbin" "$out/"
  sources_hash > "$out/llama.sources.sha256"
}

case "${1:-}" in
  --hash)
    sources_hash ;;
  --update)
    nvcc="$(find_nvcc)"
    [ -n "$nvcc" ] || { echo "build-kernels.sh: nvcc not found; --update needs the CUDA toolkit" >&2; exit 1; }
    compile "$nvcc" "$committed"
    echo "kernels rebuilt into $committed with $("$nvcc" --version | tail -1)" ;;
  --build)
    out="${2:?--build needs an output directory}"
    nvcc="$(find_nvcc)"
    if [ -z "$nvcc" ]; then
      echo "build-kernels.sh: nvcc not found, the committed kernels are used"
      exit 0
    fi
    want="$(sources_hash)"
    have="$(cat "$committed/llama.sources.sha256" 2>/dev/null || true)"
    if [ "$want" != "$have" ]; then
      echo "build-kernels.sh: src/main/cuda changed since the committed kernels were built" >&2
      echo "  sources hash $want, committed $have: run src/main/cuda/build-kernels.sh --update and commit" >&2
      exit 1
    fi
    compile "$nvcc" "$out"
    echo "build-kernels.sh: kernels compiled with $("$nvcc" --version | tail -1)" ;;
  *)
    echo "usage: build-kernels.sh --update | --build DIR | --hash" >&2; exit 2 ;;
esac
