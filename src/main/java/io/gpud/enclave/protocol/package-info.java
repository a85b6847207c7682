/**
 * The parent↔enclave wire: length-prefixed frames with a hard cap checked before any
 * allocation ({@link io.gpud.enclave.protocol.Frames}), a strict CBOR codec
 * ({@link io.gpud.enclave.protocol.Cbor}), the messages both sides exchange
 * ({@link io.gpud.enclave.protocol.EnclaveMessage}) and the transports that carry them
 * (Unix socket for local mode and tests, AF_VSOCK on Nitro). Shared by the daemon and the
 * enclave program, so it depends on nothing of the daemon but {@code core}.
 */
package io.gpud.enclave.protocol;
