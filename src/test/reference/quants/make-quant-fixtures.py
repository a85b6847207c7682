#!/usr/bin/env python3
"""Writes the quantized-tensor fixtures of QuantizedTensorTest and the quantized-model loader test.

Each tensor is quantized by the reference implementation and stored beside its reference
dequantization, so the Java kernels are checked against ggml itself, not against our reading of it:
- Q4_0, Q4_1, Q5_0, Q5_1, Q8_0: gguf-py's numpy quantizers (bit-exact ports of ggml's reference ones);
- Q2_K ... Q6_K, IQ4_NL, IQ4_XS: ggml_quantize_chunk from libggml-base (the routine llama-quantize
  runs on each tensor; without an importance matrix it uses ggml's reference quantizers);
- every dequantization: gguf-py's numpy dequantizers.

Rerun from the repository root, with a llama.cpp checkout built far enough for libggml-base.so:
    PYTHONPATH=$LLAMA_CPP/gguf-py python3 src/test/reference/quants/make-quant-fixtures.py \
        $LLAMA_CPP/build/bin/libggml-base.so src/test/resources/io/gpud/inference/quants
It writes quant-types.gguf (tensor TYPE, rows × 512, and TYPE.dequantized, F32) and quant-mix.gguf
(a one-layer llama of dim 256 whose matrices mix Q4_K, Q6_K and Q5_0 the way the Q4_K_M preset does).
The output depends only on the fixed seeds, numpy and the llama.cpp version.
"""
import ctypes
import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T, GGUFWriter, quants

NUMPY_QUANTIZED = {T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0}
GGML_QUANTIZED = [T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K, T.IQ4_NL, T.IQ4_XS]
COLS = 512


class Ggml:
    def __init__(self, library: str):
        self.lib = ctypes.CDLL(library)
        self.lib.ggml_quantize_chunk.restype = ctypes.c_size_t
        self.lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                                 ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
        self.lib.ggml_quantize_init.argtypes = [ctypes.c_int]

    def quantize(self, values: np.ndarray, qtype: T) -> np.ndarray:
        rows, cols = values.shape
        block_size, type_size = quants.GGML_QUANT_SIZES[qtype]
        src = np.ascontiguousarray(values, dtype=np.float32)
        dst = np.zeros((rows, cols // block_size * type_size), dtype=np.uint8)
        self.lib.ggml_quantize_init(int(qtype))
        written = self.lib.ggml_quantize_chunk(int(qtype), src.ctypes.data, dst.ctypes.data, 0, rows, cols, None)
        assert written == dst.size, (qtype, written, dst.size)
        return dst


def quantize(ggml: Ggml, values: np.ndarray, qtype: T) -> np.ndarray:
    return quants.quantize(values, qtype) if qtype in NUMPY_QUANTIZED else ggml.quantize(values, qtype)


def test_rows(rng: np.random.Generator) -> np.ndarray:
    """Gaussian rows, an all-zero row, rows near the F16 range's two ends, and a row mixing both."""
    rows = [
        rng.standard_normal(COLS),
        rng.standard_normal(COLS) * 0.02,
        np.zeros(COLS),
        rng.uniform(-6.0e4, 6.0e4, COLS),  # scales near the largest F16 values
        rng.standard_normal(COLS) * 1e-7,  # scales that are F16 subnormals or round to zero
        np.where(np.arange(COLS) // 32 % 3 == 0, 0.0, rng.standard_normal(COLS) * 10.0 ** rng.integers(-4, 4)),
        np.abs(rng.standard_normal(COLS)),  # all positive: a minimum term without negatives
    ]
    return np.stack(rows).astype(np.float32)


def write_types(ggml: Ggml, out: Path) -> None:
    values = test_rows(np.random.default_rng(18))
    writer = GGUFWriter(str(out), "quant-fixture")
    for qtype in [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0] + GGML_QUANTIZED:
        q = quantize(ggml, values, qtype)
        writer.add_tensor(qtype.name, q, raw_dtype=qtype)
        writer.add_tensor(qtype.name + ".dequantized", quants.dequantize(q, qtype).astype(np.float32))
    write(writer)


def write_mix(ggml: Ggml, out: Path) -> None:
    """A one-layer llama of dim 256; like Q4_K_M: Q4_K mostly, Q6_K for attn_v, ffn_down and output, and
    Q5_0 for a matrix whose rows are not whole 256-element super-blocks (ffn_down's 384)."""
    rng = np.random.default_rng(256)
    dim, hidden, heads, kv_heads, vocab = 256, 384, 4, 2, 256
    kv_dim = dim // heads * kv_heads
    writer = GGUFWriter(str(out), "llama")
    writer.add_name("quant-mix")
    writer.add_context_length(64)
    writer.add_embedding_length(dim)
    writer.add_feed_forward_length(hidden)
    writer.add_block_count(1)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)

    def matrix(name: str, rows: int, cols: int, qtype: T) -> None:
        values = (rng.standard_normal((rows, cols)) / np.sqrt(cols)).astype(np.float32)
        writer.add_tensor(name, quantize(ggml, values, qtype), raw_dtype=qtype)

    def norm(name: str) -> None:
        writer.add_tensor(name, (1.0 + 0.1 * rng.standard_normal(dim)).astype(np.float32))

    matrix("token_embd.weight", vocab, dim, T.Q4_K)
    norm("blk.0.attn_norm.weight")
    matrix("blk.0.attn_q.weight", dim, dim, T.Q4_K)
    matrix("blk.0.attn_k.weight", kv_dim, dim, T.Q4_K)
    matrix("blk.0.attn_v.weight", kv_dim, dim, T.Q6_K)
    matrix("blk.0.attn_output.weight", dim, dim, T.Q4_K)
    norm("blk.0.ffn_norm.weight")
    matrix("blk.0.ffn_gate.weight", hidden, dim, T.Q4_K)
    matrix("blk.0.ffn_up.weight", hidden, dim, T.Q4_K)
    matrix("blk.0.ffn_down.weight", dim, hidden, T.Q5_0)
    norm("output_norm.weight")
    matrix("output.weight", vocab, dim, T.Q6_K)
    write(writer)


def write(writer: GGUFWriter) -> None:
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main() -> None:
    ggml = Ggml(sys.argv[1])
    out = Path(sys.argv[2])
    write_types(ggml, out / "quant-types.gguf")
    write_mix(ggml, out / "quant-mix.gguf")


if __name__ == "__main__":
    main()
