package io.gpud.enclave.protocol;

import java.io.IOException;

/**
 * One request frame out, one reply frame back, to the enclave. Implementations: a Unix
 * socket (local mode, tests) and AF_VSOCK (Nitro), each one connection that carries one
 * call at a time; the parent spreads concurrent requests over several.
 */
public interface FrameChannel extends AutoCloseable {

    /** Sends one frame and waits for the reply frame. */
    byte[] call(byte[] request) throws IOException;

    /**
     * Closes the connection. Safe from another thread while a call waits for its reply (the
     * call then fails), and more than once: {@code EnclaveConnections} ends a call that ran
     * past its time this way.
     */
    @Override
    void close() throws IOException;
}
