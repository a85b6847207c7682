package io.gpud.enclave.crypto;

import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.util.Collection;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSAESOAEPparams;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSEnvelopedData;
import org.bouncycastle.cms.CMSEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.KeyTransRecipientInformation;
import org.bouncycastle.cms.RecipientInformation;
import org.bouncycastle.cms.jcajce.JceCMSContentEncryptorBuilder;
import org.bouncycastle.cms.jcajce.JceKeyTransEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientInfoGenerator;
import org.bouncycastle.operator.jcajce.JcaAlgorithmParametersConverter;

/**
 * CMS EnvelopedData as KMS answers {@code Decrypt} with a {@code Recipient}: the data key
 * as content, AES-256-CBC, its content key transported to the enclave's RSA key with
 * RSAES-OAEP (SHA-256, MGF1-SHA-256). {@link #unwrap} accepts exactly that shape (one
 * recipient, those algorithms) and nothing else, before it decrypts anything.
 */
public final class RecipientCms {

    /** Largest CMS blob accepted: a 32-byte key needs well under 1 KiB. */
    public static final int MAX_BYTES = 16 << 10;

    private RecipientCms() {
    }

    /** The enveloped content (the data key); the caller zeroes it after use. */
    public static byte[] unwrap(byte[] cms, PrivateKey recipientKey) {
        if (cms.length > MAX_BYTES) {
            throw new CryptoException("CMS blob of " + cms.length + " bytes is over the cap of " + MAX_BYTES);
        }
        CMSEnvelopedData env;
        try {
            env = new CMSEnvelopedData(cms);
        } catch (CMSException | RuntimeException e) {
            throw new CryptoException("CiphertextForRecipient is not CMS EnvelopedData", e);
        }
        if (!CMSAlgorithm.AES256_CBC.equals(env.getContentEncryptionAlgorithm().getAlgorithm())) {
            throw new CryptoException("CMS content encryption is " + env.getContentEncryptionAlgorithm().getAlgorithm()
                    + ", only AES-256-CBC is accepted");
        }
        Collection<RecipientInformation> recipients = env.getRecipientInfos().getRecipients();
        if (recipients.size() != 1) {
            throw new CryptoException("CMS has " + recipients.size() + " recipients, exactly 1 is accepted");
        }
        RecipientInformation recipient = recipients.iterator().next();
        if (!(recipient instanceof KeyTransRecipientInformation)) {
            throw new CryptoException("CMS recipient is not key transport");
        }
        checkOaepSha256(recipient);
        try {
            return recipient.getContent(new JceKeyTransEnvelopedRecipient(recipientKey).setProvider(Fips.provider()));
        } catch (CMSException | RuntimeException e) {
            throw new CryptoException("CMS content could not be decrypted", e);
        }
    }

    private static void checkOaepSha256(RecipientInformation recipient) {
        if (!PKCSObjectIdentifiers.id_RSAES_OAEP.getId().equals(recipient.getKeyEncryptionAlgOID())) {
            throw new CryptoException("CMS key transport is " + recipient.getKeyEncryptionAlgOID()
                    + ", only RSAES-OAEP is accepted");
        }
        RSAESOAEPparams params;
        try {
            params = RSAESOAEPparams.getInstance(recipient.getKeyEncryptionAlgorithm().getParameters());
        } catch (RuntimeException e) {
            throw new CryptoException("CMS RSAES-OAEP parameters are malformed", e);
        }
        AlgorithmIdentifier mgfHash = params.getMaskGenAlgorithm().getParameters() == null ? null
                : AlgorithmIdentifier.getInstance(params.getMaskGenAlgorithm().getParameters());
        if (!NISTObjectIdentifiers.id_sha256.equals(params.getHashAlgorithm().getAlgorithm())
                || mgfHash == null || !NISTObjectIdentifiers.id_sha256.equals(mgfHash.getAlgorithm())) {
            throw new CryptoException("CMS RSAES-OAEP must use SHA-256 and MGF1-SHA-256");
        }
    }

    /**
     * Envelopes {@code content} to {@code recipient} the way KMS does (used by the local KMS
     * endpoint and tests).
     */
    public static byte[] envelope(byte[] content, PublicKey recipient, byte[] subjectKeyId) {
        try {
            AlgorithmIdentifier oaep = new JcaAlgorithmParametersConverter().getAlgorithmIdentifier(
                    PKCSObjectIdentifiers.id_RSAES_OAEP, new OAEPParameterSpec("SHA-256", "MGF1",
                            MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT));
            var generator = new CMSEnvelopedDataGenerator();
            generator.addRecipientInfoGenerator(new JceKeyTransRecipientInfoGenerator(subjectKeyId, oaep, recipient)
                    .setProvider(Fips.provider()));
            return generator.generate(new CMSProcessableByteArray(content),
                    new JceCMSContentEncryptorBuilder(CMSAlgorithm.AES256_CBC).setProvider(Fips.provider())
                            .setSecureRandom(Fips.random()).build()).getEncoded();
        } catch (GeneralSecurityException | CMSException | java.io.IOException e) {
            throw new CryptoException("cannot build CMS EnvelopedData: " + e.getMessage(), e);
        }
    }
}
