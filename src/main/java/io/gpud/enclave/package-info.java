/**
 * The secure envelope, parent side: {@link io.gpud.enclave.SecureGateway} (the flow and the
 * threat model), the KMS calls with {@code Recipient} ({@link io.gpud.enclave.KmsKeys}),
 * the stack of one mode ({@link io.gpud.enclave.SecureStack}), local mode's enclave child
 * process and KMS endpoint, and the tenant tool. The enclave program itself is
 * {@code io.gpud.enclave.program}; the wire and crypto it shares with the parent are
 * {@code io.gpud.enclave.protocol} and {@code io.gpud.enclave.crypto}.
 */
package io.gpud.enclave;
