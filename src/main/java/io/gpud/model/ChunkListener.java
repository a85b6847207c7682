package io.gpud.model;

import java.lang.foreign.MemorySegment;

/**
 * Told of every chunk once its checksums matched, on the reader thread that completed it,
 * while the other readers go on reading. The CUDA backend copies each chunk to the GPU
 * here, so the copies overlap the reads. The segment is off-heap and valid only during the
 * call (its buffer is reused afterwards): copy what is needed before returning. A slow
 * listener slows the load (the readers wait for free buffers); a throwing one aborts it,
 * naming the chunk.
 */
@FunctionalInterface
public interface ChunkListener {

    /** Nothing to do with the bytes: the load only verifies them (and leaves them in the page cache). */
    ChunkListener NONE = new ChunkListener() {
        @Override
        public void onChunkVerified(VerifiedChunk chunk) {
        }

        @Override
        public boolean needsBytes() {
            return false;
        }
    };

    void onChunkVerified(VerifiedChunk chunk);

    /**
     * Whether {@link VerifiedChunk#bytes()} is wanted. If not (and SHA-256 is not checked),
     * the loader keeps no chunk in memory: each reader reads into one small buffer of its
     * own, checks the CRC32C there and passes {@code null} as the bytes.
     */
    default boolean needsBytes() {
        return true;
    }

    /**
     * One verified chunk.
     *
     * @param fileIndex position of the file in {@link Manifest#files()}
     * @param file      the file's entry
     * @param chunk     the chunk's entry
     * @param bytes     the chunk's bytes, {@code chunk.length()} long; null if the listener
     *                  does not need them
     */
    record VerifiedChunk(int fileIndex, Manifest.FileEntry file, Manifest.Chunk chunk, MemorySegment bytes) {
    }
}
