package io.gpud.enclave.protocol;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.IOException;

/**
 * Fuzz targets for the decoders that read enclave bytes: frames, CBOR, protocol messages
 * and the AAD. Each must either decode or throw {@link ProtocolException}; anything else
 * (another exception, an OutOfMemoryError from an unchecked length) is a finding. Plain
 * test runs replay the committed inputs under {@code DecoderFuzzTestInputs/}; with
 * {@code JAZZER_FUZZ=1} they fuzz.
 */
class DecoderFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void frames(byte[] data) throws IOException {
        var in = new ByteArrayInputStream(data);
        try {
            while (Frames.read(in, 4096) != null) {
                // keep reading frames until the input ends or breaks the framing
            }
        } catch (ProtocolException expected) {
            // refused input is the other allowed outcome
        }
    }

    @FuzzTest(maxDuration = "30s")
    void cbor(byte[] data) {
        try {
            byte[] again = Cbor.encode(Cbor.decode(data));
            Cbor.decode(again);
        } catch (ProtocolException expected) {
            // refused input is the other allowed outcome
        }
    }

    @FuzzTest(maxDuration = "30s")
    void messages(byte[] data) {
        try {
            EnclaveMessage.decode(data);
        } catch (ProtocolException expected) {
            // refused input is the other allowed outcome
        }
        try {
            EnvelopeAad.parse(data);
        } catch (ProtocolException expected) {
            // refused input is the other allowed outcome
        }
    }
}
