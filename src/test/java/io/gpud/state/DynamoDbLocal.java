package io.gpud.state;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * DynamoDB Local, in memory, in this JVM on a loopback port: started once for the whole
 * test run and stopped when the JVM exits. Its SQLite native library is copied into
 * target/native-libs by the build (pom.xml), which surefire names in
 * {@code sqlite4java.library.path}.
 */
final class DynamoDbLocal {

    private static URI endpoint;

    private DynamoDbLocal() {
    }

    /** The endpoint, starting the server on first use. */
    static synchronized URI endpoint() {
        if (endpoint == null) {
            try {
                int port;
                try (var probe = new ServerSocket(0)) {
                    port = probe.getLocalPort();
                }
                DynamoDBProxyServer server = ServerRunner.createServerFromCommandLineArgs(
                        new String[] {"-inMemory", "-port", Integer.toString(port), "-disableTelemetry"});
                server.start();
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try {
                        server.stop();
                    } catch (Exception e) {
                        // the JVM is going away
                    }
                }));
                endpoint = URI.create("http://127.0.0.1:" + port);
            } catch (IOException e) {
                throw new IllegalStateException("no free loopback port for DynamoDB Local", e);
            } catch (Exception e) {
                throw new IllegalStateException("DynamoDB Local did not start: " + e, e);
            }
        }
        return endpoint;
    }

    /** A real SDK client pointed at it, with static test credentials. */
    static DynamoDbClient client() {
        return DynamoDbClient.builder()
                .endpointOverride(endpoint())
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .httpClientBuilder(ApacheHttpClient.builder())
                .build();
    }

    /** A store on fresh tables named {@code prefix-*}. */
    static DynamoStateStore store(String prefix) {
        var store = new DynamoStateStore(client(), prefix);
        store.createTables();
        return store;
    }
}
