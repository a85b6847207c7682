package io.gpud.enclave.program;

import io.gpud.enclave.protocol.Vsock;
import java.io.IOException;

/** The enclave program's listener on Nitro: AF_VSOCK, one virtual thread per parent connection. */
final class VsockListener {

    private VsockListener() {
    }

    /** Serves forever on {@code port}. */
    static void serve(int port, EnclaveService service) throws IOException {
        int fd = Vsock.listen(port);
        while (true) {
            Vsock.Connection c = Vsock.accept(fd);
            Thread.ofVirtual().name("enclave-vsock").start(() -> EnclaveServer.serve(c.in(), c.out(), c, service));
        }
    }
}
