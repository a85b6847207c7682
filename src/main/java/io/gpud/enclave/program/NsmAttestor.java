package io.gpud.enclave.program;

import io.gpud.enclave.crypto.Attestor;
import io.gpud.enclave.crypto.CryptoException;
import io.gpud.enclave.protocol.Cbor;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Attestation from the Nitro Security Module: one {@code ioctl} on {@code /dev/nsm} with a
 * CBOR request {@code {"Attestation": {user_data, nonce, public_key}}}; the answer is
 * {@code {"Attestation": {"document": bstr}}} or {@code {"Error": text}}. Only inside a
 * Nitro Enclave.
 */
final class NsmAttestor implements Attestor {

    /** {@code _IOWR(0x0A, 0, struct nsm_message)}: two iovecs, 32 bytes. */
    private static final long NSM_IOCTL_REQUEST = 0xC0200A00L;
    private static final int RESPONSE_MAX_BYTES = 0x3000;
    private static final int O_RDWR = 2;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle OPEN = LINKER.downcallHandle(LINKER.defaultLookup().find("open").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle IOCTL = LINKER.downcallHandle(LINKER.defaultLookup().find("ioctl").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = LINKER.downcallHandle(LINKER.defaultLookup().find("close").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    @Override
    public byte[] attest(byte[] publicKey, byte[] nonce) {
        var inner = new LinkedHashMap<String, Object>();
        inner.put("user_data", null);
        inner.put("nonce", nonce);
        inner.put("public_key", publicKey);
        byte[] request = Cbor.encode(Map.of("Attestation", inner));
        try (Arena a = Arena.ofConfined()) {
            int fd = (int) OPEN.invokeExact(a.allocateFrom("/dev/nsm"), O_RDWR);
            if (fd < 0) {
                throw new CryptoException("cannot open /dev/nsm: not inside a Nitro Enclave");
            }
            try {
                MemorySegment req = a.allocate(request.length);
                MemorySegment.copy(request, 0, req, ValueLayout.JAVA_BYTE, 0, request.length);
                MemorySegment resp = a.allocate(RESPONSE_MAX_BYTES);
                MemorySegment msg = a.allocate(32);
                msg.set(ValueLayout.ADDRESS, 0, req);
                msg.set(ValueLayout.JAVA_LONG, 8, request.length);
                msg.set(ValueLayout.ADDRESS, 16, resp);
                msg.set(ValueLayout.JAVA_LONG, 24, RESPONSE_MAX_BYTES);
                int rc = (int) IOCTL.invokeExact(fd, NSM_IOCTL_REQUEST, msg);
                if (rc < 0) {
                    throw new CryptoException("the NSM attestation ioctl failed");
                }
                long n = msg.get(ValueLayout.JAVA_LONG, 24);
                byte[] answer = resp.asSlice(0, Math.min(n, RESPONSE_MAX_BYTES)).toArray(ValueLayout.JAVA_BYTE);
                if (Cbor.decode(answer) instanceof Map<?, ?> m && m.get("Attestation") instanceof Map<?, ?> att
                        && att.get("document") instanceof byte[] doc) {
                    return doc;
                }
                throw new CryptoException("the NSM refused the attestation request");
            } finally {
                int ignored = (int) CLOSE.invokeExact(fd);
            }
        } catch (CryptoException e) {
            throw e;
        } catch (Throwable t) {
            throw new CryptoException("NSM attestation failed: " + t, t);
        }
    }
}
