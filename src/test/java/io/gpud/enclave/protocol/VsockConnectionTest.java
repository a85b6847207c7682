package io.gpud.enclave.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link Vsock.Connection}'s reads, writes and close, on a connected pair of Unix stream
 * sockets (its syscalls are the same on any stream socket; this machine's kernel has no
 * vsock loopback).
 */
class VsockConnectionTest {

    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;

    /** Two connected stream sockets' descriptors. */
    private static int[] socketPair() throws Throwable {
        Linker linker = Linker.nativeLinker();
        MethodHandle socketpair = linker.downcallHandle(linker.defaultLookup().find("socketpair").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fds = a.allocate(ValueLayout.JAVA_INT, 2);
            assertEquals(0, (int) socketpair.invokeExact(AF_UNIX, SOCK_STREAM, 0, fds));
            return new int[] {fds.getAtIndex(ValueLayout.JAVA_INT, 0), fds.getAtIndex(ValueLayout.JAVA_INT, 1)};
        }
    }

    /** What descriptor {@code fd} of this process is now ("socket:[inode]"), or null when closed. */
    private static String describe(int fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
        } catch (IOException e) {
            return null;
        }
    }

    @Test
    void closingFromAnotherThreadEndsABlockedReadAndReleasesTheDescriptorAfterIt() throws Throwable {
        int[] fds = socketPair();
        var a = new Vsock.Connection(fds[0]);
        var b = new Vsock.Connection(fds[1]);
        String socketA = describe(fds[0]);
        String socketB = describe(fds[1]);
        assertTrue(socketA != null && socketA.startsWith("socket:"), socketA);
        try {
            b.out().write(new byte[] {1, 2, 3});
            byte[] got = new byte[3];
            assertEquals(3, a.in().read(got, 0, 3));
            assertArrayEquals(new byte[] {1, 2, 3}, got);

            var read = CompletableFuture.supplyAsync(() -> {
                try {
                    return a.in().read(new byte[8], 0, 8);
                } catch (IOException e) {
                    return -2;
                }
            });
            assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
                while (a.busy() == 0) {
                    Thread.sleep(5); // until the read is under way; nothing was sent, so it blocks
                }
                Thread.sleep(50);
                assertFalse(read.isDone());
                a.close();
                assertEquals(-1, read.get(5, TimeUnit.SECONDS), "the blocked read saw the end of the stream");
            });
            assertNotEquals(socketA, describe(fds[0]), "the descriptor was released once the read returned");
            assertThrows(IOException.class, () -> a.in().read(new byte[1], 0, 1));
            a.close(); // twice is harmless
            assertEquals(socketB, describe(fds[1]), "the other end is untouched");
        } finally {
            a.close();
            b.close();
        }
        assertNotEquals(socketB, describe(fds[1]));
    }
}
