package io.gpud.audit;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real, small file system for tests of what a full disk does: a tmpfs of a few hundred
 * KiB mounted on a directory the test made, {@link #fill filled} to the last byte with a
 * filler file and {@link #free freed} again. Mounting needs root: without it (or where the
 * mount fails, e.g. in a container without the capability) the test is skipped with the
 * reason. {@link #close} unmounts.
 */
public final class SmallTmpfs implements AutoCloseable {

    private final Path mountPoint;
    private final Path filler;

    private SmallTmpfs(Path mountPoint) {
        this.mountPoint = mountPoint;
        this.filler = mountPoint.resolve("filler");
    }

    /**
     * Mounts a tmpfs of {@code sizeBytes} on {@code mountPoint} (created if missing), or skips
     * the calling test when that is not possible here.
     */
    public static SmallTmpfs mountOrSkip(Path mountPoint, long sizeBytes) throws Exception {
        Assumptions.assumeTrue(isRoot(), "skipped: mounting a small tmpfs to fill needs root (CI runs as root)");
        Files.createDirectories(mountPoint);
        var run = run("mount", "-t", "tmpfs", "-o", "size=" + sizeBytes + ",mode=0750", "gpud-test-tmpfs",
                mountPoint.toString());
        Assumptions.assumeTrue(run.exitCode == 0, "skipped: cannot mount a tmpfs on " + mountPoint + ": " + run.output);
        return new SmallTmpfs(mountPoint);
    }

    /** Where the file system is mounted. */
    public Path root() {
        return mountPoint;
    }

    /** Writes a filler file until the file system refuses the next byte (ENOSPC); returns its size. */
    public long fill() throws IOException {
        long written = 0;
        byte[] chunk = new byte[1024];
        Arrays.fill(chunk, (byte) 'x');
        try (OutputStream out = Files.newOutputStream(filler)) {
            for (int size = chunk.length; size > 0; ) {
                try {
                    out.write(chunk, 0, size);
                    out.flush();
                    written += size;
                } catch (IOException full) {
                    size /= 2; // the last page: fill it with ever smaller writes, down to one byte
                }
            }
        }
        return written;
    }

    /** Deletes the filler file: the space it took is free again. */
    public void free() throws IOException {
        Files.deleteIfExists(filler);
    }

    @Override
    public void close() throws Exception {
        var run = run("umount", mountPoint.toString());
        if (run.exitCode != 0) {
            run = run("umount", "-l", mountPoint.toString());
        }
        if (run.exitCode != 0) {
            throw new IllegalStateException("cannot unmount the test tmpfs at " + mountPoint + ": " + run.output);
        }
    }

    private static boolean isRoot() throws Exception {
        var id = run("id", "-u");
        return id.exitCode == 0 && id.output.strip().equals("0");
    }

    private record Run(int exitCode, String output) {
    }

    private static Run run(String... command) throws Exception {
        Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Run(-1, String.join(" ", command) + " did not finish within 30 s");
        }
        return new Run(p.exitValue(), output);
    }
}
