#!/usr/bin/env python3
"""Embedding fixtures against llama.cpp: the mean-pooled final hidden state of a few token
sequences, as llama-server computes it with --embedding --pooling mean.

    make-embedding-fixtures.py LLAMA_CPP_SOURCE MODEL.gguf... [--out-dir DIR]

LLAMA_CPP_SOURCE is a built llama.cpp checkout (build/bin holds llama-server). For each
model M.gguf (make-model-fixtures.py's random-weight models, which carry no tokenizer, so
requests send token ids) it starts llama-server on it with --embedding --pooling mean, one
batch of 256 (every sequence in one micro-batch, as pooling needs), an F32 KV cache and
flash attention off (with it on, llama.cpp's CPU attention kernel moves the vectors of F32
models by about 2e-4 of their largest component; off, they match ours to 1e-6), posts each of
INPUTS to /embedding twice, with embd_normalize -1 (the plain mean over every position)
and 2 (scaled to unit Euclidean length, the server's default), and writes
DIR/M.embeddings.json: {"inputs": [...], "mean": [...], "normalized": [...]}, each vector
rounded to 8 significant digits. Token arrays reach the model as they are: the server adds
no BOS to them. DIR defaults to each model's own directory.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

INPUTS = [
    [1, 17, 42, 99, 3, 200, 7, 55],
    [1, 5],
    [9, 250, 31, 31, 31, 128, 64, 2, 77, 100, 3, 3, 180, 211, 40, 6, 19, 90, 201, 0, 255, 12, 13, 14],
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, body):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/embedding", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.load(response)
    vectors = answer[0]["embedding"]
    if len(vectors) != 1:
        sys.exit(f"expected one pooled vector, got {len(vectors)}")
    return [float(f"{v:.8g}") for v in vectors[0]]


def embeddings(llama_cpp, model):
    port = free_port()
    bin_dir = os.path.join(llama_cpp, "build", "bin")
    env = dict(os.environ, LD_LIBRARY_PATH=bin_dir)
    server = subprocess.Popen([os.path.join(bin_dir, "llama-server"), "-m", model, "--embedding", "--pooling", "mean",
                               "-c", "256", "-b", "256", "-ub", "256", "-t", "2", "-np", "1", "-ctk", "f32", "-ctv", "f32", "-fa", "off",
                               "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline or server.poll() is not None:
                sys.exit(f"llama-server did not come up on {model}")
            time.sleep(0.2)
        return {
            "inputs": INPUTS,
            "mean": [post(port, {"content": tokens, "embd_normalize": -1}) for tokens in INPUTS],
            "normalized": [post(port, {"content": tokens, "embd_normalize": 2}) for tokens in INPUTS],
        }
    finally:
        server.terminate()
        server.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("llama_cpp")
    parser.add_argument("models", nargs="+")
    parser.add_argument("--out-dir")
    args = parser.parse_args()
    for model in args.models:
        out_dir = args.out_dir or os.path.dirname(os.path.abspath(model))
        name = os.path.basename(model).removesuffix(".gguf")
        path = os.path.join(out_dir, name + ".embeddings.json")
        with open(path, "w") as out:
            json.dump(embeddings(args.llama_cpp, model), out, separators=(",", ":"))
            out.write("\n")
        print(path)


if __name__ == "__main__":
    main()
