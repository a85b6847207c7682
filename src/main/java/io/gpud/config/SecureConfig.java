package io.gpud.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The secure envelope ({@code /v1/secure/...}): where the enclave and KMS are, which
 * enclave images may receive keys, and where crypto operations are audited.
 *
 * @param mode              {@code off} (the secure routes answer 404), {@code nitro} (the
 *                          enclave on vsock, attestation to the AWS Nitro root, real KMS) or
 *                          {@code local} (INSECURE: the enclave program as a child process on
 *                          a Unix socket, a generated test PKI, a KMS-compatible endpoint on
 *                          loopback). Local mode is refused when {@code environment} is
 *                          {@code production}
 * @param environment       {@code development} or {@code production}
 * @param enclaveCid        the enclave's vsock CID (nitro); {@code nitro-cli describe-enclaves}
 * @param enclavePort       the enclave program's vsock port (nitro)
 * @param kmsEndpoint       KMS endpoint override (a VPC endpoint); null uses the regional
 *                          endpoint. Ignored in local mode, which serves its own
 * @param kmsRegion         the AWS region of the tenants' keys
 * @param pcr0              allowed PCR0 values (hex, comma-separated) of the enclave image; in
 *                          local mode the measurement of the running jar is allowed instead
 * @param pcr8              allowed PCR8 values (hex, comma-separated); empty: not checked
 * @param attestationMaxAge how old an attestation document may be when verified. Lower
 *                          narrows replay windows; below the clock skew between enclave and
 *                          parent, every document is refused
 * @param auditFile         the hash-chained audit log; null: {@code <dataDir>/audit.log}
 * @param localKmsPort      loopback port of local mode's KMS endpoint; 0 picks a free one
 */
public record SecureConfig(
        Mode mode,
        Environment environment,
        int enclaveCid,
        int enclavePort,
        URI kmsEndpoint,
        String kmsRegion,
        List<String> pcr0,
        List<String> pcr8,
        Duration attestationMaxAge,
        Path auditFile,
        int localKmsPort) {

    /** {@code secure.mode}. */
    public enum Mode { OFF, LOCAL, NITRO }

    /** {@code secure.environment}. */
    public enum Environment { DEVELOPMENT, PRODUCTION }

    private static final Pattern PCR = Pattern.compile("[0-9a-f]{96}");

    public SecureConfig {
        Validate.notNull("secure.mode", mode);
        Validate.notNull("secure.environment", environment);
        if (mode == Mode.LOCAL && environment == Environment.PRODUCTION) {
            throw new ConfigException("secure.mode was 'local' with secure.environment 'production': local mode is "
                    + "insecure (test PKI, local KMS) and never runs in production");
        }
        Validate.range("secure.enclaveCid", enclaveCid, 3, Integer.MAX_VALUE);
        Validate.port("secure.enclavePort", enclavePort);
        Validate.notBlank("secure.kmsRegion", kmsRegion);
        pcr0 = List.copyOf(pcr0);
        pcr8 = List.copyOf(pcr8);
        checkPcrs("secure.pcr0", pcr0);
        checkPcrs("secure.pcr8", pcr8);
        if (mode == Mode.NITRO && pcr0.isEmpty()) {
            throw new ConfigException("secure.pcr0 is empty with secure.mode 'nitro': no enclave image could be trusted");
        }
        Validate.positive("secure.attestationMaxAge", attestationMaxAge);
        Validate.port("secure.localKmsPort", localKmsPort);
    }

    private static void checkPcrs(String field, List<String> pcrs) {
        for (String p : pcrs) {
            if (!PCR.matcher(p).matches()) {
                throw ConfigException.invalid(field, "entry '" + p + "' is not 96 lower-case hex digits (SHA-384)");
            }
        }
    }

    /** Off; when turned on: CID 16, port 5000, us-east-1, documents at most 5 minutes old. */
    public static SecureConfig defaults() {
        return new SecureConfig(Mode.OFF, Environment.DEVELOPMENT, 16, 5000, null, "us-east-1", List.of(), List.of(),
                Duration.ofMinutes(5), null, 0);
    }
}
