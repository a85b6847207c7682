package io.gpud.model;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A llama2.c {@code .bin} checkpoint (version 0), memory-mapped. The file is a header of
 * seven little-endian int32 — dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size
 * (negative when the classifier is not tied to the token embedding), seq_len — followed by
 * float32 weights in the order of llama2.c's {@code run.c}: token embedding, attention
 * RMSNorm weights, wq, wk, wv, wo, FFN RMSNorm weights, w1, w2, w3, final RMSNorm weights,
 * two unused RoPE tables of {@code seq_len × head_size / 2} floats each, and the
 * classifier when it is not tied. Each weight accessor returns a read-only slice of float32
 * values with the shape given in its javadoc (row-major, rows first).
 */
public final class Llama2cCheckpoint implements AutoCloseable {
    private static final int HEADER_BYTES = 7 * Integer.BYTES;
    private static final int MAX_DIMENSION = 1 << 20;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * The hyperparameters in the header.
     *
     * @param sharedClassifier the classifier is the token embedding (vocab_size was positive)
     */
    public record Header(int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocabSize, int seqLen,
                         boolean sharedClassifier) {

        public int headSize() {
            return dim / heads;
        }

        public int kvDim() {
            return kvHeads * headSize();
        }

        /** Floats the file must hold after the header. */
        long weightFloats() {
            long d = dim;
            long l = layers;
            long kv = kvDim();
            long floats = vocabSize * d          // token embedding
                    + l * d                      // rms_att
                    + l * d * d                  // wq
                    + 2 * l * d * kv             // wk, wv
                    + l * d * d                  // wo
                    + l * d                      // rms_ffn
                    + 3 * l * d * hiddenDim      // w1, w2, w3
                    + d                          // rms_final
                    + (long) seqLen * headSize(); // freq_cis_real + freq_cis_imag
            return sharedClassifier ? floats : floats + vocabSize * d;
        }
    }

    private final Path path;
    private final Arena arena;
    private final Header header;
    private final MemorySegment file;
    private long cursor = HEADER_BYTES;
    private final MemorySegment tokenEmbedding;
    private final MemorySegment rmsAttention;
    private final MemorySegment wq;
    private final MemorySegment wk;
    private final MemorySegment wv;
    private final MemorySegment wo;
    private final MemorySegment rmsFfn;
    private final MemorySegment w1;
    private final MemorySegment w2;
    private final MemorySegment w3;
    private final MemorySegment rmsFinal;
    private final MemorySegment classifier;

    private Llama2cCheckpoint(Path path, Arena arena, MemorySegment file, Header h) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        this.header = h;
        long d = h.dim();
        long l = h.layers();
        tokenEmbedding = next((long) h.vocabSize() * d);
        rmsAttention = next(l * d);
        wq = next(l * d * d);
        wk = next(l * h.kvDim() * d);
        wv = next(l * h.kvDim() * d);
        wo = next(l * d * d);
        rmsFfn = next(l * d);
        w1 = next(l * h.hiddenDim() * d);
        w2 = next(l * d * h.hiddenDim());
        w3 = next(l * h.hiddenDim() * d);
        rmsFinal = next(d);
        next((long) h.seqLen() * h.headSize());
        classifier = h.sharedClassifier() ? tokenEmbedding : next((long) h.vocabSize() * d);
    }

    private MemorySegment next(long floats) {
        MemorySegment slice = file.asSlice(cursor, floats * Float.BYTES);
        cursor += floats * Float.BYTES;
        return slice;
    }

    /** Maps and checks {@code path}; the caller closes the checkpoint. */
    public static Llama2cCheckpoint open(Path path) {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < HEADER_BYTES) {
                throw new ModelFormatException(path + ": llama2.c checkpoint is " + size + " bytes, shorter than its "
                        + HEADER_BYTES + "-byte header");
            }
            MemorySegment file = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            Header header = readHeader(path, file);
            long needed = HEADER_BYTES + header.weightFloats() * Float.BYTES;
            if (size < needed) {
                throw new ModelFormatException(path + ": llama2.c checkpoint is " + size + " bytes, but its header "
                        + header + " needs " + needed + " bytes");
            }
            return new Llama2cCheckpoint(path, arena, file, header);
        } catch (IOException e) {
            arena.close();
            throw new ModelFormatException("cannot read llama2.c checkpoint " + path + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Header readHeader(Path path, MemorySegment file) {
        int[] v = new int[7];
        for (int i = 0; i < v.length; i++) {
            v[i] = file.get(INT, (long) i * Integer.BYTES);
        }
        String[] names = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
        for (int i = 0; i < v.length; i++) {
            int value = i == 5 && v[i] != Integer.MIN_VALUE ? Math.abs(v[i]) : v[i];
            if (value <= 0 || value > MAX_DIMENSION) {
                throw new ModelFormatException(path + ": llama2.c header " + names[i] + " was " + v[i]
                        + ", must be in 1.." + MAX_DIMENSION + (i == 5 ? " (negative for an untied classifier)" : ""));
            }
        }
        if (v[0] % v[3] != 0) {
            throw new ModelFormatException(path + ": llama2.c header dim " + v[0] + " is not a multiple of n_heads " + v[3]);
        }
        if (v[3] % v[4] != 0) {
            throw new ModelFormatException(path + ": llama2.c header n_heads " + v[3]
                    + " is not a multiple of n_kv_heads " + v[4]);
        }
        return new Header(v[0], v[1], v[2], v[3], v[4], Math.abs(v[5]), v[6], v[5] > 0);
    }

    public Path path() {
        return path;
    }

    public Header header() {
        return header;
    }

    /** (vocab, dim) */
    public MemorySegment tokenEmbedding() {
        return tokenEmbedding;
    }

    /** (layer, dim) */
    public MemorySegment rmsAttention() {
        return rmsAttention;
    }

    /** (layer, dim, dim): per layer, dim rows of dim. */
    public MemorySegment wq() {
        return wq;
    }

    /** (layer, kvDim, dim) */
    public MemorySegment wk() {
        return wk;
    }

    /** (layer, kvDim, dim) */
    public MemorySegment wv() {
        return wv;
    }

    /** (layer, dim, dim) */
    public MemorySegment wo() {
        return wo;
    }

    /** (layer, dim) */
    public MemorySegment rmsFfn() {
        return rmsFfn;
    }

    /** (layer, hiddenDim, dim) */
    public MemorySegment w1() {
        return w1;
    }

    /** (layer, dim, hiddenDim) */
    public MemorySegment w2() {
        return w2;
    }

    /** (layer, hiddenDim, dim) */
    public MemorySegment w3() {
        return w3;
    }

    /** (dim) */
    public MemorySegment rmsFinal() {
        return rmsFinal;
    }

    /** (vocab, dim); the token embedding itself when the header says it is shared. */
    public MemorySegment classifier() {
        return classifier;
    }

    /** Bytes of weights in use (the file minus header and unused RoPE tables). */
    public long weightBytes() {
        return (header.weightFloats() - (long) header.seqLen() * header.headSize()) * Float.BYTES;
    }

    /** Unmaps the file; the weight segments must not be used afterwards. */
    @Override
    public void close() {
        arena.close();
    }
}
