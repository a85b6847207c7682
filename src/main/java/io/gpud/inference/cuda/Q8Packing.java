package io.gpud.inference.cuda;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Repacks Q8_0 blocks for the GPU. GGUF stores each block of 32 elements as an F16 scale
 * followed by 32 int8 quants (34 bytes), so quants sit at addresses no 128-bit load can
 * use. On the device a Q8_0 matrix of n elements is two arrays instead: the quants,
 * n bytes in element order, then the scales, n / 32 halves, block order; the kernels read
 * 16 quants per load and their block's scale beside them.
 */
final class Q8Packing {
    static final int BLOCK = 32;
    static final int BLOCK_BYTES = 34;

    private Q8Packing() {
    }

    /** Device bytes of a Q8_0 matrix of {@code elements}: quants then scales. */
    static long packedBytes(long elements) {
        checkElements(elements);
        return elements + elements / BLOCK * Short.BYTES;
    }

    /** Offset of the scales in the packed matrix. */
    static long scalesOffset(long elements) {
        checkElements(elements);
        return elements;
    }

    private static void checkElements(long elements) {
        if (elements <= 0 || elements % BLOCK != 0) {
            throw new IllegalArgumentException("Q8_0 matrix of " + elements + " elements, must be a positive multiple of "
                    + BLOCK);
        }
    }

    /**
     * Splits {@code blocks} whole GGUF blocks from {@code source} at {@code sourceOffset}
     * into {@code quants} (32 bytes a block) and {@code scales} (2 bytes a block), both
     * written from offset 0.
     */
    static void split(MemorySegment source, long sourceOffset, long blocks, MemorySegment quants,
                      MemorySegment scales) {
        if (quants.byteSize() < blocks * BLOCK || scales.byteSize() < blocks * Short.BYTES) {
            throw new IllegalArgumentException("room for " + quants.byteSize() + " quant bytes and "
                    + scales.byteSize() + " scale bytes, " + blocks + " blocks need " + blocks * BLOCK + " and "
                    + blocks * Short.BYTES);
        }
        for (long b = 0; b < blocks; b++) {
            long at = sourceOffset + b * BLOCK_BYTES;
            scales.set(ValueLayout.JAVA_SHORT_UNALIGNED, b * Short.BYTES,
                    source.get(ValueLayout.JAVA_SHORT_UNALIGNED, at));
            MemorySegment.copy(source, at + Short.BYTES, quants, b * BLOCK, BLOCK);
        }
    }
}
