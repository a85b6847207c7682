package io.gpud.enclave.program;

import io.gpud.enclave.crypto.Fips;
import io.gpud.enclave.crypto.LocalAttestor;
import io.gpud.enclave.crypto.Measurement;
import io.gpud.enclave.crypto.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/**
 * Entry point of the enclave program.
 *
 * <pre>
 *   java -cp gpud.jar io.gpud.enclave.program.EnclaveMain --vsock-port 5000
 *   java -cp gpud.jar io.gpud.enclave.program.EnclaveMain --unix SOCKET --test-pki FILE   (local mode, INSECURE)
 * </pre>
 *
 * Either takes the data-key cache's bounds ({@link DataKeyCache}): {@code --key-cache-ttl-seconds}
 * (default 300), {@code --key-cache-entries} (default 1024; 0 sends every request to KMS)
 * and {@code --key-cache-uses} (requests per KMS {@code Decrypt}, default 10000).
 *
 * On Nitro it listens on AF_VSOCK and attests through {@code /dev/nsm}; in local mode it
 * listens on a Unix socket and signs documents with the test PKI the parent generated.
 * It prints {@code ready} on stdout once it accepts connections.
 */
public final class EnclaveMain {

    private EnclaveMain() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts;
        DataKeyCache.Limits cache;
        try {
            opts = options(args);
            cache = cacheLimits(opts);
        } catch (IllegalArgumentException e) {
            System.err.println("enclave: " + e.getMessage());
            System.err.println("usage: EnclaveMain --vsock-port N | --unix SOCKET --test-pki FILE"
                    + " [--key-cache-ttl-seconds S] [--key-cache-entries N] [--key-cache-uses N]");
            System.exit(2);
            return;
        }
        if (!Fips.approvedOnly()) {
            System.err.println("enclave: Bouncy Castle FIPS is not in approved-only mode");
            System.exit(1);
        }
        if (opts.containsKey("--vsock-port")) {
            int port = Integer.parseInt(opts.get("--vsock-port"));
            var service = new EnclaveService(new NsmAttestor(), new DataKeyCache(cache, System::nanoTime));
            System.out.println("ready");
            System.out.flush();
            VsockListener.serve(port, service);
            return;
        }
        Path socket = Path.of(opts.get("--unix"));
        TestPki pki = TestPki.fromSignerBytes(Files.readAllBytes(Path.of(opts.get("--test-pki"))));
        var attestor = new LocalAttestor(pki, Map.of(0, Measurement.codeOf(EnclaveMain.class), 8, new byte[48]),
                Clock.systemUTC());
        try (var server = EnclaveServer.unix(socket, attestor, cache)) {
            System.out.println("ready");
            System.out.flush();
            // Runs until the parent closes stdin or kills the process.
            while (System.in.read() >= 0) {
                Thread.onSpinWait();
            }
        }
    }

    private static DataKeyCache.Limits cacheLimits(Map<String, String> opts) {
        var d = DataKeyCache.Limits.defaults();
        try {
            return new DataKeyCache.Limits(
                    opts.containsKey("--key-cache-ttl-seconds")
                            ? java.time.Duration.ofSeconds(Long.parseLong(opts.get("--key-cache-ttl-seconds"))) : d.ttl(),
                    opts.containsKey("--key-cache-entries")
                            ? Integer.parseInt(opts.get("--key-cache-entries")) : d.maxEntries(),
                    opts.containsKey("--key-cache-uses") ? Long.parseLong(opts.get("--key-cache-uses")) : d.maxUses());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("key cache options take whole numbers: " + e.getMessage());
        }
    }

    private static Map<String, String> options(String[] args) {
        if (args.length % 2 != 0) {
            throw new IllegalArgumentException("options come in pairs");
        }
        var m = new java.util.HashMap<String, String>();
        for (int i = 0; i < args.length; i += 2) {
            if (!java.util.Set.of("--vsock-port", "--unix", "--test-pki", "--key-cache-ttl-seconds", "--key-cache-entries",
                    "--key-cache-uses").contains(args[i])) {
                throw new IllegalArgumentException("unknown option " + args[i]);
            }
            m.put(args[i], args[i + 1]);
        }
        boolean vsock = m.containsKey("--vsock-port");
        boolean local = m.containsKey("--unix") && m.containsKey("--test-pki");
        if (vsock == local) {
            throw new IllegalArgumentException("give either --vsock-port, or --unix and --test-pki");
        }
        return m;
    }
}
