package io.gpud.enclave.crypto;

import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;

/**
 * Which enclave images may receive keys: allowed PCR0 values (the image measurement) and,
 * when given, allowed PCR8 values (the signing certificate). A debug-mode enclave reports
 * all-zero PCRs and is always refused, whatever the lists say.
 *
 * @param pcr0 allowed PCR0 values, lower-case hex; never empty
 * @param pcr8 allowed PCR8 values, lower-case hex; empty means PCR8 is not checked
 */
public record PcrPolicy(Set<String> pcr0, Set<String> pcr8) {

    public PcrPolicy {
        if (pcr0 == null || pcr0.isEmpty()) {
            throw new CryptoException("pcr policy: pcr0 allow-list is empty; no enclave could be trusted");
        }
        pcr0 = Set.copyOf(pcr0);
        pcr8 = pcr8 == null ? Set.of() : Set.copyOf(pcr8);
    }

    /** Empty when the document's PCRs satisfy the policy, else why not. */
    public Optional<String> check(AttestationDocument doc) {
        byte[] p0 = doc.pcrs().get(0);
        if (p0 == null) {
            return Optional.of("PCR0 is absent");
        }
        if (allZero(p0)) {
            return Optional.of("PCR0 is all zero: a debug-mode enclave");
        }
        if (!pcr0.contains(HexFormat.of().formatHex(p0))) {
            return Optional.of("PCR0 is not in the allow-list");
        }
        if (!pcr8.isEmpty()) {
            byte[] p8 = doc.pcrs().get(8);
            if (p8 == null || !pcr8.contains(HexFormat.of().formatHex(p8))) {
                return Optional.of("PCR8 is not in the allow-list");
            }
        }
        return Optional.empty();
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }
}
