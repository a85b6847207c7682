package io.gpud.enclave;

import io.gpud.core.GpudException;
import io.gpud.enclave.crypto.Fips;
import io.gpud.enclave.crypto.TestPki;
import io.gpud.enclave.program.EnclaveMain;
import io.gpud.enclave.protocol.FrameChannel;
import io.gpud.enclave.protocol.Frames;
import io.gpud.enclave.protocol.StreamFrameChannel;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Local mode's enclave: the enclave program ({@link EnclaveMain}) as a child JVM on a Unix
 * socket in {@code dir}, signing attestation documents with the test PKI written there
 * (mode 0600). It runs from the same jar as the daemon, so its local PCR0 is that jar's
 * measurement. The child exits when its stdin closes, which {@link #close} and the death
 * of the parent both do.
 */
public final class LocalEnclave implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private final Process process;
    private final Path socket;

    private LocalEnclave(Process process, Path socket) {
        this.process = process;
        this.socket = socket;
    }

    /** Starts the child and waits until it listens. */
    public static LocalEnclave start(Path dir, TestPki pki) {
        try {
            Files.createDirectories(dir);
            Path pkiFile = dir.resolve("test-pki.cbor");
            Files.deleteIfExists(pkiFile);
            Files.createFile(pkiFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(pkiFile, pki.signerBytes());
            Path socket = dir.resolve("enclave.sock");
            List<String> cmd = new ArrayList<>();
            cmd.add(ProcessHandle.current().info().command().orElse("java"));
            cmd.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-XX:+UseSerialGC", "-cp", classPath(),
                    EnclaveMain.class.getName(), "--unix", socket.toString(), "--test-pki", pkiFile.toString()));
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            try {
                awaitReady(p);
                return new LocalEnclave(p, socket);
            } catch (IOException | RuntimeException e) {
                p.destroyForcibly();
                throw e;
            }
        } catch (IOException e) {
            throw new EnclaveException("cannot start the local enclave program: " + e.getMessage(), e);
        }
    }

    private static void awaitReady(Process p) throws IOException {
        var reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        var line = CompletableFuture.supplyAsync(() -> {
            try {
                return reader.readLine();
            } catch (IOException e) {
                return null;
            }
        });
        try {
            String first = line.get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (!"ready".equals(first)) {
                throw new IOException("the enclave program exited before it was ready (exit code "
                        + (p.waitFor(5, TimeUnit.SECONDS) ? p.exitValue() : "none") + ")");
            }
        } catch (TimeoutException e) {
            throw new IOException("the enclave program was not ready within " + START_TIMEOUT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while the enclave program started");
        } catch (ExecutionException e) {
            throw new IOException("cannot read the enclave program's output", e);
        }
    }

    /** The jars (or class directories) the enclave program needs: ours and Bouncy Castle FIPS. */
    private static String classPath() {
        var entries = new LinkedHashSet<String>();
        for (Class<?> c : List.of(EnclaveMain.class, GpudException.class)) {
            try {
                entries.add(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
            } catch (URISyntaxException e) {
                throw new EnclaveException("cannot locate the code of " + c.getName(), e);
            }
        }
        Fips.codeLocations().forEach(p -> entries.add(p.toString()));
        return String.join(java.io.File.pathSeparator, entries);
    }

    /** A new connection to the child; the caller closes it. */
    public FrameChannel connect() {
        try {
            return StreamFrameChannel.unix(socket, Frames.DEFAULT_MAX_BYTES);
        } catch (IOException e) {
            throw new EnclaveException("cannot connect to the local enclave program: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            process.getOutputStream().close();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (IOException e) {
            process.destroyForcibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
