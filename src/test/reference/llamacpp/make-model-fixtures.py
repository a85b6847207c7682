#!/usr/bin/env python3
"""Differential fixtures against llama.cpp: tiny random-weight models of each architecture
the engine runs, written by llama.cpp's gguf-py, quantized by llama-quantize, and greedy-
decoded by libllama with an F32 KV cache (greedy.c, built here against the same checkout).

    make-model-fixtures.py LLAMA_CPP_SOURCE OUT_DIR [--types Q4_K_M,...] [--archs llama,...]

LLAMA_CPP_SOURCE is a built llama.cpp checkout (build/bin holds llama-quantize and the
shared libraries). For each architecture A and type T it writes OUT_DIR/A-T.gguf and
OUT_DIR/A-T.json: {"prompt": ids, "ids": llama.cpp's greedy ids, "logits": its logits of the
first LOGIT_STEPS steps}. The F32 source models are not kept.

Every matrix has a multiple of 256 columns, so the K-quant types apply to every tensor;
gemma's sliding window is 6 positions and the prompt plus generation 32, so the window
matters; llama carries a Llama 3.1 rope_freqs tensor (frequency scaling).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

DIM, HIDDEN, HEADS, KV_HEADS, LAYERS, VOCAB = 256, 256, 4, 2, 2, 256
PROMPT = [1, 17, 42, 99, 3, 200, 7, 55]
STEPS, LOGIT_STEPS = 24, 4
ARCHS = ["llama", "qwen2", "qwen3", "gemma2", "gemma3", "phi3"]
TYPES = ["Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "Q4_0"]


def llama3_rope_factors(head_dim, theta, factor=8.0, low=1.0, high=4.0, original=8192):
    factors = []
    for i in range(0, head_dim, 2):
        wavelength = 2 * math.pi / (1.0 / theta ** (i / head_dim))
        if wavelength < original / high:
            factors.append(1.0)
        elif wavelength > original / low:
            factors.append(factor)
        else:
            smooth = (original / wavelength - low) / (high - low)
            factors.append(1.0 / ((1 - smooth) / factor + smooth))
    return np.array(factors, dtype=np.float32)


def write_model(gguf, arch, path, seed, vocab=VOCAB, context=256, tokenizer=None):
    """A random-weight model of arch; tokenizer, if given, writes the vocabulary's metadata
    into the writer it is passed (vocab ids), else the file has none (ids only)."""
    rng = np.random.default_rng(seed)
    head = 128 if arch in ("qwen3", "gemma2", "gemma3") else DIM // HEADS
    q_dim, kv_dim = HEADS * head, KV_HEADS * head
    theta = 10000.0

    def matrix(rows, cols, scale=None):
        return (rng.standard_normal((rows, cols), dtype=np.float32) * (scale or 1 / math.sqrt(cols))).astype(np.float32)

    def norm(size):
        return (1.0 + 0.1 * rng.standard_normal(size)).astype(np.float32)

    w = gguf.GGUFWriter(path, arch)
    w.add_name(f"random {arch}")
    w.add_context_length(context)
    w.add_embedding_length(DIM)
    w.add_feed_forward_length(HIDDEN)
    w.add_block_count(LAYERS)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(1000000.0 if arch == "gemma3" else theta)
    if tokenizer:
        tokenizer(w)
    else:
        w.add_vocab_size(vocab)
        w.add_tokenizer_model("none")
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    if head != DIM // HEADS:
        w.add_key_length(head)
        w.add_value_length(head)
    w.add_rope_dimension_count(head)
    if arch == "gemma2":
        w.add_attn_logit_softcapping(50.0)
        w.add_final_logit_softcapping(30.0)
        w.add_sliding_window(6)
    if arch == "gemma3":
        w.add_sliding_window(6)
        w.add_sliding_window_pattern(2)
        w.add_rope_freq_base_swa(theta)

    # gemma multiplies the embedding by sqrt(DIM) before the first layer; gemma2's classifier
    # is the embedding, so a small embedding and a large final norm keep the branches, not
    # the input token, deciding the logits, and bring them near the soft cap
    embedding_scale = {"gemma2": 1 / DIM, "gemma3": 1 / math.sqrt(DIM)}.get(arch, 1.0)
    w.add_tensor("token_embd.weight", matrix(vocab, DIM, embedding_scale))
    if arch == "llama":
        w.add_tensor("rope_freqs.weight", llama3_rope_factors(head, theta))
    for l in range(LAYERS):
        b = f"blk.{l}."
        w.add_tensor(b + "attn_norm.weight", norm(DIM))
        if arch == "phi3":
            w.add_tensor(b + "attn_qkv.weight", matrix(q_dim + 2 * kv_dim, DIM))
        else:
            w.add_tensor(b + "attn_q.weight", matrix(q_dim, DIM))
            w.add_tensor(b + "attn_k.weight", matrix(kv_dim, DIM))
            w.add_tensor(b + "attn_v.weight", matrix(kv_dim, DIM))
        if arch == "qwen2":
            w.add_tensor(b + "attn_q.bias", (0.1 * rng.standard_normal(q_dim)).astype(np.float32))
            w.add_tensor(b + "attn_k.bias", (0.1 * rng.standard_normal(kv_dim)).astype(np.float32))
            w.add_tensor(b + "attn_v.bias", (0.1 * rng.standard_normal(kv_dim)).astype(np.float32))
        if arch in ("qwen3", "gemma3"):
            w.add_tensor(b + "attn_q_norm.weight", norm(head))
            w.add_tensor(b + "attn_k_norm.weight", norm(head))
        w.add_tensor(b + "attn_output.weight", matrix(DIM, q_dim))
        if arch in ("gemma2", "gemma3"):
            w.add_tensor(b + "post_attention_norm.weight", norm(DIM))
        w.add_tensor(b + "ffn_norm.weight", norm(DIM))
        if arch == "phi3":
            w.add_tensor(b + "ffn_up.weight", matrix(2 * HIDDEN, DIM))
        else:
            w.add_tensor(b + "ffn_gate.weight", matrix(HIDDEN, DIM))
            w.add_tensor(b + "ffn_up.weight", matrix(HIDDEN, DIM))
        w.add_tensor(b + "ffn_down.weight", matrix(DIM, HIDDEN))
        if arch in ("gemma2", "gemma3"):
            w.add_tensor(b + "post_ffw_norm.weight", norm(DIM))
    w.add_tensor("output_norm.weight", norm(DIM) * (200.0 if arch == "gemma2" else 1.0))
    if arch not in ("gemma2",):  # gemma2 ties the classifier to the embedding
        w.add_tensor("output.weight", matrix(vocab, DIM))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("llama_cpp")
    p.add_argument("out")
    p.add_argument("--types", default=",".join(TYPES))
    p.add_argument("--archs", default=",".join(ARCHS))
    a = p.parse_args()
    sys.path.insert(0, os.path.join(a.llama_cpp, "gguf-py"))
    import gguf

    bin_dir = os.path.join(a.llama_cpp, "build", "bin")
    here = os.path.dirname(os.path.abspath(__file__))
    os.makedirs(a.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        greedy = os.path.join(tmp, "greedy")
        subprocess.run(["cc", "-O2", "-o", greedy, os.path.join(here, "greedy.c"),
                        "-I" + os.path.join(a.llama_cpp, "include"), "-I" + os.path.join(a.llama_cpp, "ggml", "include"),
                        "-L" + bin_dir, "-lllama", "-lggml", "-lggml-base", "-Wl,-rpath," + bin_dir], check=True)
        for i, arch in enumerate(a.archs.split(",")):
            source = os.path.join(tmp, arch + "-F32.gguf")
            write_model(gguf, arch, source, seed=1000 + i)
            for qtype in a.types.split(","):
                model = os.path.join(a.out, f"{arch}-{qtype}.gguf")
                subprocess.run([os.path.join(bin_dir, "llama-quantize"), source, model, qtype],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                run = subprocess.run([greedy, model, str(STEPS), str(LOGIT_STEPS)] + [str(t) for t in PROMPT],
                                     check=True, capture_output=True, text=True)
                result = json.loads(run.stdout)
                with open(os.path.join(a.out, f"{arch}-{qtype}.json"), "w") as f:
                    json.dump({"prompt": PROMPT, "ids": result["ids"],
                               "logits": [[float(np.float32(v)) for v in step] for step in result["logits"]]}, f)
                print(arch, qtype, os.path.getsize(model), result["ids"])


if __name__ == "__main__":
    main()
