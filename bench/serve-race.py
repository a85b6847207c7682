#!/usr/bin/env python3
"""One round of concurrent streaming chats against an OpenAI-compatible server.

    serve-race.py URL MODEL CONCURRENCY MAX_TOKENS ROUND

Starts CONCURRENCY threads at once; each sends one streaming /v1/chat/completions request
(greedy, max_tokens MAX_TOKENS, a different user message per thread and round, usage
asked for with stream_options) and reads the whole stream. Prints one JSON line: the
round's wall time, completion tokens (from the final usage chunk), aggregate tokens/s and
the mean and max time to the first content chunk. Standard library only.
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse


def chat(url, model, max_tokens, text, out, index):
    u = urllib.parse.urlparse(url)
    body = json.dumps({
        "model": model,
        "messages": [{"role": "system", "content": "You are a helpful assistant."},
                     {"role": "user", "content": text}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    })
    start = time.monotonic()
    first = None
    tokens = None
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    conn.request("POST", "/v1/chat/completions", body, {"content-type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError(f"{url}: HTTP {resp.status}: {resp.read()[:300]!r}")
    for raw in resp:
        line = raw.decode("utf-8").strip()
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            break
        chunk = json.loads(data)
        if "error" in chunk:
            raise RuntimeError(f"{url}: the stream carried an error: {json.dumps(chunk['error'])[:300]}")
        for choice in chunk.get("choices") or []:
            if first is None and (choice.get("delta") or {}).get("content"):
                first = time.monotonic() - start
        if chunk.get("usage"):
            tokens = chunk["usage"]["completion_tokens"]
    conn.close()
    if tokens is None:
        raise RuntimeError(f"{url}: the stream carried no usage")
    out[index] = (first if first is not None else time.monotonic() - start, tokens)


def main():
    url, model, concurrency, max_tokens, round_ = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    out = [None] * concurrency
    errors = []

    def run(i):
        try:
            chat(url, model, max_tokens, f"Round {round_}, story {i}: tell me about the number {i * 7919 + round_}.", out, i)
        except Exception as e:  # reported below, the round fails
            errors.append(str(e))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(concurrency)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    if errors:
        sys.exit("serve-race.py: " + errors[0])
    tokens = sum(o[1] for o in out)
    ttfts = [o[0] for o in out]
    print(json.dumps({"wall_s": wall, "tokens": tokens, "tok_s": tokens / wall,
                      "ttft_mean_s": sum(ttfts) / len(ttfts), "ttft_max_s": max(ttfts)}))


if __name__ == "__main__":
    main()
