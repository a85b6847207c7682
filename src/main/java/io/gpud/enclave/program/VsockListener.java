package io.gpud.enclave.program;

import io.gpud.enclave.protocol.Vsock;
import java.io.IOException;
import java.util.concurrent.Semaphore;

/** The enclave program's listener on Nitro: AF_VSOCK, one platform thread per parent connection
 * (see {@link EnclaveServer}). */
final class VsockListener {

    private VsockListener() {
    }

    /** Serves forever on {@code port}. */
    static void serve(int port, EnclaveService service) throws IOException {
        int fd = Vsock.listen(port);
        var connections = new Semaphore(EnclaveServer.MAX_CONNECTIONS);
        while (true) {
            Vsock.Connection c = Vsock.accept(fd);
            EnclaveServer.start(() -> EnclaveServer.serve(c.in(), c.out(), c, service), c, connections);
        }
    }
}
