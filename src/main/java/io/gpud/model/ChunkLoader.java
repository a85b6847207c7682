package io.gpud.model;

import io.gpud.config.StoreConfig;
import io.gpud.core.MonotonicClock;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every chunk of a published version with parallel readers, checks each chunk's
 * CRC32C (and SHA-256 when asked) and hands verified chunks to a {@link ChunkListener}.
 *
 * <p>Design. The unit of checking is the chunk (256 MiB by default, fixed at publish time);
 * the unit of reading is the piece, one positional read of {@code subReadBytes} into the
 * chunk's off-heap buffer. Chunks are dealt round robin to the readers' deques in file
 * order, so at any moment the readers work on neighbouring regions and the storage sees a
 * few wide sequential streams. A reader takes chunks from the front of its own deque;
 * when it is empty it steals an unstarted chunk from the back of another's, and when no
 * chunk is left unstarted it joins the started chunk with the most unclaimed pieces. Pieces
 * are claimed from a chunk's atomic cursor, so any number of readers can share a chunk, and
 * the tail of a load is one piece long rather than one chunk long: with a handful of
 * chunks per reader, whole-chunk stealing would leave most readers idle while the last
 * chunks finish.
 *
 * <p>The CRC32C of each piece is computed right after its read, while its bytes are still
 * in the CPU cache. The reader that completes a chunk's last piece combines the pieces'
 * CRCs in order ({@link Crc32c#combine}) and compares the result with the manifest; SHA-256,
 * which cannot be split, is computed then over the whole chunk in memory. A verified chunk
 * goes to the listener, and its buffer back to the pool. Buffers come from one shared arena,
 * allocated on demand up to twice the readers (a reader may start its next chunk while
 * others still finish pieces of its last one) and freed when the load ends; bytes never
 * touch the Java heap. When nobody needs the chunk's bytes (the CPU engine maps the files
 * itself and needs only the verification, and SHA-256 is off), no chunk is kept: each
 * reader reads into one piece-sized buffer of its own, which stays in the CPU cache.
 *
 * <p>Failures: an I/O error, a read that ends before the manifest's size (short read), a
 * file whose size differs from the manifest, a checksum mismatch or a throwing listener
 * each record a {@link LoadOutcome.Failed} naming file, chunk and offset. A load stops at
 * the first; a verification ({@code stopOnFailure} false) reads on and reports the earliest
 * failure in file order. Nothing here touches what is being served: the caller swaps only
 * after {@link LoadOutcome.Loaded}.
 */
public final class ChunkLoader {
    private static final Logger log = LoggerFactory.getLogger(ChunkLoader.class);
    private static final int MAX_ZERO_READS = 1000;
    private static final long BUFFER_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    /**
     * How a load reads.
     *
     * @param readers       parallel readers
     * @param subReadBytes  bytes per positional read
     * @param verifyCrc32c  compare each chunk's CRC32C; always true in the daemon, false only
     *                      to measure what the checks cost (bench/loader.sh)
     * @param verifySha256  also compare each chunk's SHA-256
     * @param stopOnFailure stop at the first failure (a load) or read everything and report the
     *                      earliest (a verification)
     */
    public record Settings(int readers, long subReadBytes, boolean verifyCrc32c, boolean verifySha256,
                           boolean stopOnFailure) {
        public Settings {
            if (readers < 1 || readers > 256) {
                throw new IllegalArgumentException("readers was " + readers + ", must be 1 to 256");
            }
            if (subReadBytes < 1 || subReadBytes > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("subReadBytes was " + subReadBytes + ", must be 1 to 2^31-1");
            }
        }

        /** A load as {@code store.*} configures it. */
        public static Settings of(StoreConfig config) {
            return new Settings(config.readers(), config.subReadBytes(), true, config.verifySha256(), true);
        }
    }

    private final Settings settings;
    private final ByteSource source;
    private final MonotonicClock clock;

    public ChunkLoader(Settings settings, ByteSource source, MonotonicClock clock) {
        this.settings = settings;
        this.source = source;
        this.clock = clock;
    }

    /** Loads {@code manifest}'s files from {@code dir}, with progress reported to a new {@link LoadProgress}. */
    public LoadOutcome load(Path dir, Manifest manifest, ChunkListener listener) {
        return load(dir, manifest, listener, newProgress(manifest));
    }

    /** A progress record for a load of {@code manifest}, to be passed to {@link #load(Path, Manifest, ChunkListener, LoadProgress)}. */
    public LoadProgress newProgress(Manifest manifest) {
        return new LoadProgress(manifest.name() + "@" + manifest.version(), manifest.totalBytes(), clock);
    }

    /** Loads {@code manifest}'s files from {@code dir}, reporting to {@code progress}. Blocks until done. */
    public LoadOutcome load(Path dir, Manifest manifest, ChunkListener listener, LoadProgress progress) {
        var run = new Run(manifest, listener, progress);
        try {
            return run.execute(dir);
        } finally {
            progress.finish();
            run.close();
        }
    }

    /** One chunk of work. */
    private static final class Task {
        final int fileIndex;
        final Manifest.FileEntry file;
        final Manifest.Chunk chunk;
        final ByteSource.Handle handle;
        final int pieces;
        final long pieceBytes;
        final int[] pieceCrcs;
        final AtomicInteger nextPiece = new AtomicInteger();
        final AtomicInteger remaining;
        volatile MemorySegment buffer;
        volatile boolean failed;

        Task(int fileIndex, Manifest.FileEntry file, Manifest.Chunk chunk, ByteSource.Handle handle, long pieceBytes) {
            this.fileIndex = fileIndex;
            this.file = file;
            this.chunk = chunk;
            this.handle = handle;
            this.pieceBytes = pieceBytes;
            this.pieces = (int) ((chunk.length() + pieceBytes - 1) / pieceBytes);
            this.pieceCrcs = new int[pieces];
            this.remaining = new AtomicInteger(pieces);
        }

        int unclaimed() {
            return pieces - Math.min(pieces, nextPiece.get());
        }
    }

    /** The state of one load, shared by its readers. */
    private final class Run {
        private final Manifest manifest;
        private final ChunkListener listener;
        private final LoadProgress progress;
        private final Arena arena = Arena.ofShared();
        private final List<ByteSource.Handle> handles = new ArrayList<>();
        private final List<ConcurrentLinkedDeque<Task>> deques = new ArrayList<>();
        private final ConcurrentLinkedQueue<Task> started = new ConcurrentLinkedQueue<>();
        private final ConcurrentLinkedQueue<Failure> failures = new ConcurrentLinkedQueue<>();
        private final ArrayBlockingQueue<MemorySegment> freeBuffers;
        private final AtomicInteger allocatedBuffers = new AtomicInteger();
        private final AtomicInteger verified = new AtomicInteger();
        private final long[] busyNanos;
        private final boolean staging;
        private final MemorySegment[] scratch;
        private final int maxBuffers;
        private long bufferBytes;
        private volatile boolean stop;

        Run(Manifest manifest, ChunkListener listener, LoadProgress progress) {
            this.manifest = manifest;
            this.listener = listener;
            this.progress = progress;
            this.maxBuffers = 2 * settings.readers();
            this.freeBuffers = new ArrayBlockingQueue<>(maxBuffers);
            this.busyNanos = new long[settings.readers()];
            this.staging = listener.needsBytes() || settings.verifySha256();
            this.scratch = new MemorySegment[settings.readers()];
        }

        LoadOutcome execute(Path dir) {
            long start = clock.nanos();
            for (int r = 0; r < settings.readers(); r++) {
                deques.add(new ConcurrentLinkedDeque<>());
            }
            int dealt = 0;
            for (int i = 0; i < manifest.files().size(); i++) {
                Manifest.FileEntry f = manifest.files().get(i);
                ByteSource.Handle h;
                try {
                    h = source.open(dir.resolve(f.path()));
                    handles.add(h);
                    long size = h.size();
                    if (size != f.size()) {
                        int chunk = size < f.size() ? (int) (size / manifest.chunkBytes()) : f.chunks().size() - 1;
                        return new LoadOutcome.Failed(f.path(), Math.max(0, chunk), Math.min(size, f.size()),
                                "the file is " + size + " bytes, the manifest says " + f.size());
                    }
                } catch (IOException e) {
                    return new LoadOutcome.Failed(f.path(), 0, 0, "cannot open: " + e);
                }
                for (Manifest.Chunk c : f.chunks()) {
                    bufferBytes = Math.max(bufferBytes, c.length());
                    deques.get(dealt++ % settings.readers()).add(new Task(i, f, c, h, settings.subReadBytes()));
                }
            }
            var threads = new ArrayList<Thread>();
            for (int r = 0; r < settings.readers(); r++) {
                int reader = r;
                threads.add(Thread.ofPlatform().name("gpud-loader-" + r).daemon(true).start(() -> read(reader)));
            }
            for (Thread t : threads) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    stop = true;
                    Thread.currentThread().interrupt();
                    joinQuietly(threads);
                    throw new ModelFormatException("interrupted while loading " + manifest.name() + "@"
                            + manifest.version(), e);
                }
            }
            long elapsed = clock.nanos() - start;
            Failure first = failures.stream().min(Comparator.comparingInt(Failure::fileIndex)
                    .thenComparingInt(Failure::chunk).thenComparingLong(Failure::offset)).orElse(null);
            if (first != null) {
                return new LoadOutcome.Failed(manifest.files().get(first.fileIndex).path(), first.chunk, first.offset,
                        first.reason);
            }
            var busy = new ArrayList<Double>();
            for (long b : busyNanos) {
                busy.add(elapsed == 0 ? 1.0 : Math.min(1.0, (double) b / elapsed));
            }
            return new LoadOutcome.Loaded(manifest.totalBytes(), Duration.ofNanos(elapsed), busy);
        }

        private void joinQuietly(List<Thread> threads) {
            for (Thread t : threads) {
                try {
                    t.join(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }

        /** One reader: its own chunks, then stolen chunks, then pieces of started chunks. */
        private void read(int reader) {
            ConcurrentLinkedDeque<Task> own = deques.get(reader);
            if (!staging) {
                scratch[reader] = arena.allocate(Math.min(settings.subReadBytes(), Math.max(1, bufferBytes)), 4096);
            }
            while (!stop) {
                Task task = own.pollFirst();
                if (task == null) {
                    task = stealUnstarted(reader);
                }
                if (task != null) {
                    if (!begin(task)) {
                        return;
                    }
                } else {
                    task = mostUnclaimed();
                    if (task == null) {
                        return;
                    }
                }
                int piece;
                while (!stop && (piece = task.nextPiece.getAndIncrement()) < task.pieces) {
                    long t0 = clock.nanos();
                    readPiece(task, piece, scratch[reader]);
                    busyNanos[reader] += clock.nanos() - t0;
                }
            }
        }

        private Task stealUnstarted(int thief) {
            ConcurrentLinkedDeque<Task> fullest = null;
            for (int r = 0; r < deques.size(); r++) {
                var d = deques.get(r);
                if (r != thief && !d.isEmpty() && (fullest == null || d.size() > fullest.size())) {
                    fullest = d;
                }
            }
            return fullest == null ? null : fullest.pollLast();
        }

        private Task mostUnclaimed() {
            Task best = null;
            for (var it = started.iterator(); it.hasNext(); ) {
                Task t = it.next();
                int left = t.unclaimed();
                if (left == 0) {
                    it.remove();
                } else if (best == null || left > best.unclaimed()) {
                    best = t;
                }
            }
            return best;
        }

        /** Gives the chunk a buffer and makes its pieces visible to other readers; false if the load stopped. */
        private boolean begin(Task task) {
            if (!staging) {
                started.add(task);
                return true;
            }
            MemorySegment buffer = freeBuffers.poll();
            while (buffer == null) {
                if (allocatedBuffers.get() < maxBuffers && allocatedBuffers.incrementAndGet() <= maxBuffers) {
                    buffer = arena.allocate(bufferBytes, 4096);
                    break;
                }
                if (stop) {
                    return false;
                }
                try {
                    buffer = freeBuffers.poll(BUFFER_POLL_NANOS, TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    stop = true;
                    return false;
                }
            }
            task.buffer = buffer;
            started.add(task);
            return true;
        }

        /** Reads one piece into the chunk's buffer, or into {@code scratch} when not staging. */
        private void readPiece(Task task, int piece, MemorySegment scratch) {
            long inChunk = piece * task.pieceBytes;
            long length = Math.min(task.pieceBytes, task.chunk.length() - inChunk);
            ByteBuffer dst = (staging ? task.buffer.asSlice(inChunk, length) : scratch.asSlice(0, length)).asByteBuffer();
            long position = task.chunk.offset() + inChunk;
            int zeroReads = 0;
            while (dst.hasRemaining() && !task.failed) {
                long at = position + dst.position();
                int n;
                try {
                    n = task.handle.read(dst, at);
                } catch (IOException | RuntimeException e) {
                    fail(task, at, "I/O error: " + e);
                    break;
                }
                if (n < 0) {
                    fail(task, at, "short read: the file ended at offset " + at + ", the manifest says it is "
                            + task.file.size() + " bytes");
                    break;
                }
                if (n == 0 && ++zeroReads > MAX_ZERO_READS) {
                    fail(task, at, "the source returned no bytes " + MAX_ZERO_READS + " times in a row");
                    break;
                }
                progress.addBytes(n);
            }
            if (!task.failed && settings.verifyCrc32c()) {
                var crc = new CRC32C();
                crc.update(dst.flip());
                task.pieceCrcs[piece] = (int) crc.getValue();
            }
            if (task.remaining.decrementAndGet() == 0) {
                complete(task);
            }
        }

        /** Runs on the reader that finished the chunk's last piece. */
        private void complete(Task task) {
            try {
                if (task.failed) {
                    return;
                }
                int crc = task.pieceCrcs[0];
                for (int p = 1; p < task.pieces; p++) {
                    long len = Math.min(task.pieceBytes, task.chunk.length() - p * task.pieceBytes);
                    crc = Crc32c.combine(crc, task.pieceCrcs[p], len);
                }
                if (settings.verifyCrc32c() && crc != task.chunk.crc32cValue()) {
                    fail(task, task.chunk.offset(), String.format("CRC32C mismatch: read %08x, the manifest says %s",
                            crc, task.chunk.crc32c()));
                    return;
                }
                MemorySegment bytes = staging ? task.buffer.asSlice(0, task.chunk.length()) : null;
                if (settings.verifySha256()) {
                    String sha = sha256(bytes);
                    if (!sha.equals(task.chunk.sha256())) {
                        fail(task, task.chunk.offset(), "SHA-256 mismatch: read " + sha + ", the manifest says "
                                + task.chunk.sha256());
                        return;
                    }
                }
                try {
                    listener.onChunkVerified(new ChunkListener.VerifiedChunk(task.fileIndex, task.file, task.chunk,
                            bytes));
                } catch (RuntimeException e) {
                    fail(task, task.chunk.offset(), "the verified-chunk listener failed: " + e);
                    return;
                }
                progress.chunkVerified();
                int done = verified.incrementAndGet();
                int total = manifest.chunkCount();
                if (done * 10 / total != (done - 1) * 10 / total) {
                    log.info("loading {}", progress.snapshot().describe());
                }
            } finally {
                MemorySegment buffer = task.buffer;
                task.buffer = null;
                if (buffer != null) {
                    freeBuffers.offer(buffer);
                }
            }
        }

        private void fail(Task task, long offset, String reason) {
            task.failed = true;
            failures.add(new Failure(task.fileIndex, task.chunk.index(), offset, reason));
            if (settings.stopOnFailure()) {
                stop = true;
            }
        }

        void close() {
            stop = true;
            for (ByteSource.Handle h : handles) {
                try {
                    h.close();
                } catch (IOException e) {
                    log.warn("cannot close a model file: {}", e.toString());
                }
            }
            arena.close();
        }
    }

    private record Failure(int fileIndex, int chunk, long offset, String reason) {
    }

    static String sha256(MemorySegment bytes) {
        MessageDigest digest = sha256();
        digest.update(bytes.asByteBuffer());
        return HexFormat.of().formatHex(digest.digest());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new ModelFormatException("this JVM has no SHA-256", e);
        }
    }
}
