package io.gpud.enclave.crypto;

import io.gpud.enclave.protocol.Cbor;
import io.gpud.enclave.protocol.ProtocolException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DERSequence;

/**
 * COSE_Sign1 (RFC 9052) with ES384 only: protected header exactly {@code {1: -35}}, an
 * empty external AAD, and a 96-byte {@code r||s} signature over
 * {@code ["Signature1", protected, h'', payload]}.
 *
 * @param protectedHeader the serialized protected header
 * @param payload         the signed payload
 * @param signature       {@code r||s}, 48 bytes each
 */
public record CoseSign1(byte[] protectedHeader, byte[] payload, byte[] signature) {

    /** COSE algorithm id of ECDSA with SHA-384. */
    public static final long ES384 = -35;
    private static final long COSE_SIGN1_TAG = 18;
    private static final int COORDINATE_BYTES = 48;

    /** Parses the outer structure (tagged or not) strictly; does not verify. */
    public static CoseSign1 parse(byte[] bytes) {
        Object item = Cbor.decode(bytes, new Cbor.Limits(4, 8));
        if (item instanceof Cbor.Tagged(long tag, Object value)) {
            if (tag != COSE_SIGN1_TAG) {
                throw new ProtocolException("COSE: tag " + tag + ", expected 18 (COSE_Sign1)");
            }
            item = value;
        }
        if (!(item instanceof List<?> parts) || parts.size() != 4) {
            throw new ProtocolException("COSE_Sign1 must be an array of 4");
        }
        if (!(parts.get(0) instanceof byte[] prot) || !(parts.get(1) instanceof Map<?, ?>)
                || !(parts.get(2) instanceof byte[] payload) || !(parts.get(3) instanceof byte[] sig)) {
            throw new ProtocolException("COSE_Sign1 parts must be bstr, map, bstr, bstr");
        }
        return new CoseSign1(prot, payload, sig);
    }

    /** True when the protected header is exactly {@code {1: -35}} (ES384). */
    public boolean isEs384() {
        try {
            return Cbor.decode(protectedHeader, new Cbor.Limits(1, 4)) instanceof Map<?, ?> m
                    && m.size() == 1 && Long.valueOf(ES384).equals(m.get(1L));
        } catch (ProtocolException e) {
            return false;
        }
    }

    /** True when the ES384 signature verifies under {@code key}. */
    public boolean verify(PublicKey key) {
        if (signature.length != 2 * COORDINATE_BYTES) {
            return false;
        }
        try {
            Signature s = Signature.getInstance("SHA384withECDSA", Fips.provider());
            s.initVerify(key);
            s.update(toBeSigned(protectedHeader, payload));
            return s.verify(der(signature));
        } catch (GeneralSecurityException | java.io.IOException e) {
            return false;
        }
    }

    /** Signs {@code payload} with ES384 (the local attestation provider). */
    public static byte[] sign(byte[] payload, PrivateKey key) {
        byte[] prot = Cbor.encode(Map.of(1L, ES384));
        try {
            Signature s = Signature.getInstance("SHA384withECDSA", Fips.provider());
            s.initSign(key, Fips.random());
            s.update(toBeSigned(prot, payload));
            byte[] sig = raw(s.sign());
            return Cbor.encode(new Cbor.Tagged(COSE_SIGN1_TAG, List.of(prot, Map.of(), payload, sig)));
        } catch (GeneralSecurityException e) {
            throw new CryptoException("ES384 signing failed: " + e.getMessage(), e);
        }
    }

    private static byte[] toBeSigned(byte[] prot, byte[] payload) {
        return Cbor.encode(List.of("Signature1", prot, new byte[0], payload));
    }

    private static byte[] der(byte[] raw) throws java.io.IOException {
        var v = new ASN1EncodableVector();
        v.add(new ASN1Integer(new BigInteger(1, Arrays.copyOfRange(raw, 0, COORDINATE_BYTES))));
        v.add(new ASN1Integer(new BigInteger(1, Arrays.copyOfRange(raw, COORDINATE_BYTES, 2 * COORDINATE_BYTES))));
        return new DERSequence(v).getEncoded();
    }

    private static byte[] raw(byte[] der) {
        ASN1Sequence seq = ASN1Sequence.getInstance(der);
        byte[] out = new byte[2 * COORDINATE_BYTES];
        for (int i = 0; i < 2; i++) {
            byte[] n = ASN1Integer.getInstance(seq.getObjectAt(i)).getPositiveValue().toByteArray();
            int len = Math.min(n.length, COORDINATE_BYTES);
            System.arraycopy(n, n.length - len, out, (i + 1) * COORDINATE_BYTES - len, len);
        }
        return out;
    }
}
