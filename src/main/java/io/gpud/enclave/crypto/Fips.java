package io.gpud.enclave.crypto;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.util.LinkedHashSet;
import java.util.List;
import org.bouncycastle.crypto.CryptoServicesRegistrar;
import org.bouncycastle.jcajce.provider.BouncyCastleFipsProvider;

/**
 * The one FIPS provider of the process: Bouncy Castle FIPS, registered once, in
 * approved-only mode, so a non-approved algorithm (PKCS#1 v1.5 encryption, short keys)
 * fails instead of running. Every class of this package names {@link #PROVIDER}
 * explicitly rather than relying on the JDK's provider order.
 */
public final class Fips {

    /** The JCA provider name every crypto call uses. */
    public static final String PROVIDER = "BCFIPS";

    private static final Provider INSTANCE = install();
    /** One DRBG for the process: instantiating one costs a fresh entropy draw. */
    private static final SecureRandom RANDOM = newRandom();

    private Fips() {
    }

    private static Provider install() {
        // The provider reads this once, when its class initialises: approved-only for every thread.
        System.setProperty("org.bouncycastle.fips.approved_only", "true");
        Provider p = Security.getProvider(PROVIDER);
        if (p == null) {
            p = new BouncyCastleFipsProvider();
            Security.addProvider(p);
        }
        if (!CryptoServicesRegistrar.isInApprovedOnlyMode()) {
            throw new CryptoException("Bouncy Castle FIPS is not in approved-only mode");
        }
        return p;
    }

    /** The provider, registered and in approved-only mode. */
    public static Provider provider() {
        return INSTANCE;
    }

    /** True when Bouncy Castle FIPS runs in approved-only mode on this thread. */
    public static boolean approvedOnly() {
        provider();
        return CryptoServicesRegistrar.isInApprovedOnlyMode();
    }

    /**
     * Where the Bouncy Castle FIPS classes are loaded from (their unshaded jars), for a
     * child JVM that needs the same provider.
     */
    public static List<Path> codeLocations() {
        var where = new LinkedHashSet<Path>();
        for (Class<?> c : List.of(BouncyCastleFipsProvider.class, org.bouncycastle.cms.CMSEnvelopedData.class,
                org.bouncycastle.asn1.cms.EnvelopedData.class)) {
            try {
                where.add(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()));
            } catch (URISyntaxException e) {
                throw new CryptoException("cannot locate the code of " + c.getName(), e);
            }
        }
        return List.copyOf(where);
    }

    /** The process's FIPS DRBG (thread-safe). */
    public static SecureRandom random() {
        return RANDOM;
    }

    private static SecureRandom newRandom() {
        try {
            return SecureRandom.getInstance("DEFAULT", provider());
        } catch (GeneralSecurityException e) {
            throw new CryptoException("no FIPS DRBG: " + e.getMessage(), e);
        }
    }
}
