package io.gpud.enclave.crypto;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.stream.Stream;

/**
 * Local mode's PCR0: the SHA-384 of the code the enclave program runs from (the jar, or
 * every file of a class directory in path order). On Nitro, PCR0 is the EIF measurement
 * and this class is not used.
 */
public final class Measurement {

    private Measurement() {
    }

    /** The SHA-384 of the jar or class directory that holds {@code type}. */
    public static byte[] codeOf(Class<?> type) {
        try {
            Path where = Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
            MessageDigest md = MessageDigest.getInstance("SHA-384");
            if (Files.isDirectory(where)) {
                List<Path> files;
                try (Stream<Path> s = Files.walk(where)) {
                    files = s.filter(Files::isRegularFile).sorted().toList();
                }
                for (Path f : files) {
                    md.update(where.relativize(f).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    md.update(Files.readAllBytes(f));
                }
            } else {
                try (var in = Files.newInputStream(where)) {
                    byte[] buf = new byte[1 << 16];
                    for (int n; (n = in.read(buf)) > 0; ) {
                        md.update(buf, 0, n);
                    }
                }
            }
            return md.digest();
        } catch (IOException | URISyntaxException | NoSuchAlgorithmException | RuntimeException e) {
            throw new CryptoException("cannot measure the code of " + type.getName() + ": " + e.getMessage(), e);
        }
    }
}
