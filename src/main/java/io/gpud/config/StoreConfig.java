package io.gpud.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The model store and its loader (SPEC section 9).
 *
 * @param root              the store: {@code <root>/<name>/<version>/} holds one published
 *                          version, {@code <root>/<name>/current} names the version to serve.
 *                          Null: models come from {@code model.path} only
 * @param readers           parallel readers of one load. Each keeps one chunk in flight, so a
 *                          load holds {@code readers × chunkBytes} of off-heap staging memory;
 *                          more readers help only while the storage has bandwidth to spare
 *                          (FSx for Lustre scales with stripes, a local disk does not)
 * @param chunkBytes        chunk size written by {@code gpud model publish}: the unit of
 *                          checksums, of work distribution and of the verified-chunk hook
 * @param subReadBytes      one positional read; its CRC32C is computed right after it, while
 *                          the bytes are still in the CPU cache (1 MiB fits a core's L2; 8 MiB
 *                          was markedly slower from the page cache). Smaller evens out the
 *                          readers' tail, larger costs fewer system calls
 * @param verifySha256      also check each chunk's SHA-256 (CRC32C is always checked). SHA-256
 *                          costs about one core per 1.5 GB/s
 * @param maxBytesPerSecond cap on the loader's aggregate read rate (token bucket), so a load
 *                          does not starve other readers of a shared file system; 0 = none
 * @param followCurrent     watch {@code <root>/<model.name>/current} and load a new version
 *                          when the pointer moves
 * @param followInterval    how often the pointer is read when following it
 * @param reloadMemoryBytes memory the old and the new version may take together during a
 *                          reload: if both fit, the new one is loaded beside the old and new
 *                          requests switch to it at once; if not, the new version is verified
 *                          first, then new requests wait while the old version finishes its
 *                          in-flight ones, and then they run on the new one. 0 = the host's
 *                          physical memory
 */
public record StoreConfig(Path root, int readers, long chunkBytes, long subReadBytes, boolean verifySha256,
                          long maxBytesPerSecond, boolean followCurrent, Duration followInterval,
                          long reloadMemoryBytes) {

    public StoreConfig {
        Validate.range("store.readers", readers, 1, 256);
        Validate.range("store.chunkBytes", chunkBytes, 4096, 1L << 31);
        Validate.range("store.subReadBytes", subReadBytes, 4096, 1L << 30);
        if (subReadBytes > chunkBytes) {
            throw new ConfigException("store.subReadBytes was " + subReadBytes + ", must be at most store.chunkBytes ("
                    + chunkBytes + ")");
        }
        Validate.range("store.maxBytesPerSecond", maxBytesPerSecond, 0, 1L << 40);
        Validate.positive("store.followInterval", followInterval);
        Validate.range("store.reloadMemoryBytes", reloadMemoryBytes, 0, 1L << 50);
        if (followCurrent && root == null) {
            throw new ConfigException("store.followCurrent was true with no store.root; set store.root");
        }
    }

    /** Defaults: no store, 8 readers, 256 MiB chunks read 1 MiB at a time, CRC32C only, no cap, not following. */
    public static StoreConfig defaults() {
        return new StoreConfig(null, 8, 256L << 20, 1L << 20, false, 0, false, Duration.ofSeconds(5), 0);
    }
}
