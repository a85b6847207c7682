/**
 * The enclave program: its own entry point ({@link io.gpud.enclave.program.EnclaveMain}),
 * run inside a Nitro Enclave (or, in local mode, as a child process). It holds the RSA key
 * KMS seals data keys to, unwraps them, opens and seals tenant payloads, keeps a session's
 * data key for its later requests (bounded in time, uses and count: {@code DataKeyCache}),
 * and zeroes keys.
 * It imports nothing of the daemon but the protocol and crypto packages (an ArchUnit test
 * enforces it), so what runs in the enclave can be read in one sitting.
 */
package io.gpud.enclave.program;
