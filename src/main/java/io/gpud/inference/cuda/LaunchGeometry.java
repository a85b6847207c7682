package io.gpud.inference.cuda;

/**
 * The launch shapes of the kernels in {@code src/main/cuda/llama.cu}, and the batch sizes
 * decode steps are captured at. The constants must match the kernel source's
 * {@code ROWS_PER_BLOCK}, {@code MAX_TILE} and {@code ATTENTION_WARPS}.
 */
final class LaunchGeometry {
    static final int WARP = 32;
    /** Output rows per block of the matrix kernels: one warp each. */
    static final int ROWS_PER_BLOCK = 4;
    static final int MATVEC_THREADS = ROWS_PER_BLOCK * WARP;
    /** Batch rows a matrix kernel keeps in registers per pass over a weight row. */
    static final int MAX_TILE = 8;
    static final int ATTENTION_THREADS = 4 * WARP;
    /** The attention kernel holds at most 8 elements of a head per lane. */
    static final int MAX_HEAD_SIZE = 8 * WARP;
    static final int ROW_THREADS = 256;
    /** Batch sizes decode steps are captured at as CUDA graphs; a step runs the smallest that fits. */
    static final int[] GRAPH_BATCHES = {1, 8, 32};
    static final int MAX_GRAPH_BATCH = GRAPH_BATCHES[GRAPH_BATCHES.length - 1];
    /** Bytes the hygiene kernels handle per thread and iteration. */
    static final int WORD_BYTES = 16;

    private LaunchGeometry() {
    }

    /** Blocks of a matrix kernel over {@code rows} output rows. */
    static int matvecBlocks(int rows) {
        return ceilDiv(rows, ROWS_PER_BLOCK);
    }

    /** The captured batch size a decode step of {@code rows} rows runs at; rows beyond are padding. */
    static int graphBatch(int rows) {
        if (rows < 1 || rows > MAX_GRAPH_BATCH) {
            throw new IllegalArgumentException("decode rows was " + rows + ", must be 1 to " + MAX_GRAPH_BATCH);
        }
        for (int size : GRAPH_BATCHES) {
            if (rows <= size) {
                return size;
            }
        }
        throw new AssertionError(rows);
    }

    /** Blocks of a grid-stride hygiene kernel over {@code bytes}, at most {@code maxBlocks}. */
    static int wordBlocks(long bytes, int maxBlocks) {
        long words = words(bytes);
        return (int) Math.max(1, Math.min(maxBlocks, ceilDiv(words, ROW_THREADS)));
    }

    /** 16-byte words in {@code bytes}, which must be a multiple of 16. */
    static long words(long bytes) {
        if (bytes % WORD_BYTES != 0) {
            throw new IllegalArgumentException("buffer of " + bytes + " bytes is not a multiple of " + WORD_BYTES);
        }
        return bytes / WORD_BYTES;
    }

    /** {@code bytes} rounded up to a multiple of 256, the driver's allocation alignment. */
    static long aligned(long bytes) {
        return (bytes + 255) & ~255L;
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
