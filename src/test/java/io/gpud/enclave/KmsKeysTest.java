package io.gpud.enclave;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import org.junit.jupiter.api.Test;

/** The KMS client resolves its endpoint once, with the SDK's own rules. */
class KmsKeysTest {

    @Test
    void theRegionalEndpointComesFromTheSdkRules() {
        assertEquals(URI.create("https://kms.eu-west-1.amazonaws.com"),
                KmsKeys.resolveEndpoint(null, "eu-west-1").url());
        assertEquals(URI.create("https://kms.cn-north-1.amazonaws.com.cn"),
                KmsKeys.resolveEndpoint(null, "cn-north-1").url());
    }

    @Test
    void anOverrideWins() {
        assertEquals(URI.create("http://127.0.0.1:4599"),
                KmsKeys.resolveEndpoint(URI.create("http://127.0.0.1:4599"), "us-east-1").url());
    }
}
