package io.gpud.node;

/**
 * Where peers and the registry reach this node's data plane: the advertised host, and the
 * port — the configured one until the listener is bound, then the bound one (they differ
 * when the configuration asks for any free port, 0).
 */
final class DataPlaneAddress {
    private final String host;
    private volatile int port;

    DataPlaneAddress(String host, int configuredPort) {
        this.host = host;
        this.port = configuredPort;
    }

    String host() {
        return host;
    }

    int port() {
        return port;
    }

    /** The listener is bound to {@code port}. */
    void bound(int port) {
        this.port = port;
    }
}
