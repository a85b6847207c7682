package io.gpud.enclave.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.RSAKeyGenParameterSpec;
import java.util.Arrays;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.jcajce.JceCMSContentEncryptorBuilder;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientInfoGenerator;
import org.bouncycastle.operator.jcajce.JcaAlgorithmParametersConverter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The CMS rows of the adversarial table: only KMS's exact shape is unwrapped. */
class RecipientCmsTest {

    static final byte[] DATA_KEY = new byte[32];
    static KeyPair enclave;
    static KeyPair other;

    @BeforeAll
    static void keys() throws Exception {
        Arrays.fill(DATA_KEY, (byte) 7);
        enclave = rsa();
        other = rsa();
    }

    static KeyPair rsa() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA", Fips.provider());
        g.initialize(new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4), Fips.random());
        return g.generateKeyPair();
    }

    static AlgorithmIdentifier oaep(String hash, MGF1ParameterSpec mgf) throws Exception {
        return new JcaAlgorithmParametersConverter().getAlgorithmIdentifier(PKCSObjectIdentifiers.id_RSAES_OAEP,
                new OAEPParameterSpec(hash, "MGF1", mgf, PSource.PSpecified.DEFAULT));
    }

    static byte[] cms(org.bouncycastle.asn1.ASN1ObjectIdentifier content, AlgorithmIdentifier keyTransport,
                      KeyPair... recipients) throws Exception {
        var g = new CMSEnvelopedDataGenerator();
        byte id = 1;
        for (KeyPair r : recipients) {
            g.addRecipientInfoGenerator(new JceKeyTransRecipientInfoGenerator(new byte[] {id++}, keyTransport,
                    r.getPublic()).setProvider(Fips.provider()));
        }
        return g.generate(new CMSProcessableByteArray(DATA_KEY),
                new JceCMSContentEncryptorBuilder(content).setProvider(Fips.provider()).setSecureRandom(Fips.random()).build()).getEncoded();
    }

    static String refusal(byte[] cms) {
        return assertThrows(CryptoException.class, () -> RecipientCms.unwrap(cms, enclave.getPrivate())).getMessage();
    }

    /** Replaces the first occurrence of {@code from} in {@code in} by {@code to} (same length). */
    static byte[] replace(byte[] in, byte[] from, byte[] to) {
        byte[] out = in.clone();
        for (int i = 0; i + from.length <= in.length; i++) {
            if (Arrays.equals(in, i, i + from.length, from, 0, from.length)) {
                System.arraycopy(to, 0, out, i, to.length);
                return out;
            }
        }
        throw new AssertionError("pattern not found");
    }

    @Test
    void unwrapsWhatKmsSends() {
        byte[] cms = RecipientCms.envelope(DATA_KEY, enclave.getPublic(), new byte[20]);
        assertArrayEquals(DATA_KEY, RecipientCms.unwrap(cms, enclave.getPrivate()));
    }

    @Test
    void truncatedCms() {
        byte[] cms = RecipientCms.envelope(DATA_KEY, enclave.getPublic(), new byte[20]);
        for (int cut : new int[] {0, 10, cms.length / 2, cms.length - 1}) {
            assertTrue(refusal(Arrays.copyOf(cms, cut)).contains("not CMS EnvelopedData")
                    || refusal(Arrays.copyOf(cms, cut)).contains("could not be decrypted"), "cut at " + cut);
        }
    }

    @Test
    void aes128ContentEncryption() throws Exception {
        byte[] cms = cms(CMSAlgorithm.AES128_CBC, oaep("SHA-256", MGF1ParameterSpec.SHA256), enclave);
        assertTrue(refusal(cms).contains("only AES-256-CBC is accepted"));
    }

    @Test
    void pkcs1v15KeyTransport() throws Exception {
        byte[] cms = cms(CMSAlgorithm.AES256_CBC, oaep("SHA-256", MGF1ParameterSpec.SHA256), enclave);
        // id-RSAES-OAEP (1.2.840.113549.1.1.7) rewritten to rsaEncryption (…1.1.1), as a downgrade would.
        byte[] oid = PKCSObjectIdentifiers.id_RSAES_OAEP.getEncoded();
        byte[] v15 = PKCSObjectIdentifiers.rsaEncryption.getEncoded();
        assertTrue(refusal(replace(cms, oid, v15)).contains("only RSAES-OAEP is accepted"));
    }

    @Test
    void oaepWithSha1() throws Exception {
        byte[] cms = cms(CMSAlgorithm.AES256_CBC, oaep("SHA-1", MGF1ParameterSpec.SHA1), enclave);
        assertTrue(refusal(cms).contains("SHA-256"));
    }

    @Test
    void twoRecipients() throws Exception {
        byte[] cms = cms(CMSAlgorithm.AES256_CBC, oaep("SHA-256", MGF1ParameterSpec.SHA256), other, enclave);
        assertTrue(refusal(cms).contains("2 recipients, exactly 1"));
    }

    @Test
    void sealedToAnotherKey() {
        byte[] cms = RecipientCms.envelope(DATA_KEY, other.getPublic(), new byte[20]);
        assertTrue(refusal(cms).contains("could not be decrypted"));
    }

    @Test
    void oversizedBlob() {
        assertTrue(refusal(new byte[RecipientCms.MAX_BYTES + 1]).contains("over the cap"));
    }

    @Test
    void theProviderRunsInApprovedOnlyMode() {
        assertTrue(Fips.approvedOnly());
    }
}
