package io.gpud.model;

import java.lang.foreign.MemorySegment;

/**
 * One tensor of a GGUF file.
 *
 * @param name       e.g. {@code blk.0.attn_q.weight}
 * @param type       storage type
 * @param dims       GGUF dimensions, fastest-varying first: a matrix is
 *                   {@code [ne0 = columns, ne1 = rows]}
 * @param fileOffset absolute offset of the first byte in the file
 * @param data       the tensor's bytes, memory-mapped,  {@code type.byteSize(elements)} long
 */
public record GgufTensor(String name, GgmlType type, long[] dims, long fileOffset, MemorySegment data) {

    public GgufTensor {
        dims = dims.clone();
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    /** Number of elements: the product of the dimensions. */
    public long elements() {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }
}
