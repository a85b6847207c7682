package io.gpud.enclave.crypto;

import io.gpud.enclave.protocol.Cbor;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Local mode's stand-in for the NSM: documents shaped like Nitro's (same fields, COSE_Sign1
 * ES384), signed by the {@link TestPki} leaf. Its PCR0 is the SHA-384 of the program that
 * runs, so a PCR policy still means "this code". Insecure by design: whoever holds the
 * test PKI can forge documents.
 */
public final class LocalAttestor implements Attestor {

    private final TestPki pki;
    private final Map<Integer, byte[]> pcrs;
    private final Clock clock;

    /**
     * @param pki   signer
     * @param pcrs  the PCRs to report (index → 48 bytes)
     * @param clock the document timestamps
     */
    public LocalAttestor(TestPki pki, Map<Integer, byte[]> pcrs, Clock clock) {
        this.pki = pki;
        this.pcrs = Map.copyOf(pcrs);
        this.clock = clock;
    }

    @Override
    public byte[] attest(byte[] publicKey, byte[] nonce) {
        try {
            var payload = new LinkedHashMap<String, Object>();
            payload.put("module_id", "gpud-local-enclave");
            payload.put("digest", "SHA384");
            payload.put("timestamp", clock.millis());
            var p = new LinkedHashMap<Long, Object>();
            pcrs.entrySet().stream().sorted(Map.Entry.comparingByKey())
                    .forEach(e -> p.put((long) e.getKey(), e.getValue()));
            payload.put("pcrs", p);
            payload.put("certificate", pki.leaf().getEncoded());
            var bundle = new ArrayList<Object>();
            bundle.add(pki.root().getEncoded());
            payload.put("cabundle", bundle);
            payload.put("public_key", publicKey);
            payload.put("user_data", null);
            payload.put("nonce", nonce);
            return CoseSign1.sign(Cbor.encode(payload), pki.leafKey());
        } catch (GeneralSecurityException e) {
            throw new CryptoException("cannot encode the attestation document", e);
        }
    }
}
