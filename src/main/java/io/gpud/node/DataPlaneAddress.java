package io.gpud.node;

/**
 * Where peers and the registry reach this node: the advertised host, the data plane's port
 * and the peer listener's — the configured ones until the listeners are bound, then the
 * bound ones (they differ when the configuration asks for any free port, 0). The peer port
 * is 0 while the node has no peer listener.
 */
final class DataPlaneAddress {
    private final String host;
    private volatile int port;
    private volatile int peerPort;

    DataPlaneAddress(String host, int configuredPort, int configuredPeerPort) {
        this.host = host;
        this.port = configuredPort;
        this.peerPort = configuredPeerPort;
    }

    String host() {
        return host;
    }

    int port() {
        return port;
    }

    int peerPort() {
        return peerPort;
    }

    /** The listeners are bound to {@code port} and {@code peerPort} (0: no peer listener). */
    void bound(int port, int peerPort) {
        this.port = port;
        this.peerPort = peerPort;
    }
}
