package io.gpud.membership;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.gpud.config.MembershipConfig;
import io.gpud.metrics.MetricRegistry;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Fuzzes the gossip packet decoder. Every run replays the committed inputs under
 * {@code PacketDecoderFuzzTestInputs/}; {@code JAZZER_FUZZ=1} fuzzes for real. Whatever the
 * bytes: the codec either decodes them (and re-encodes what it decoded stably) or says
 * they are malformed, and the protocol drops and counts what it cannot read, never
 * throwing.
 */
class PacketDecoderFuzzTest {

    private static final InetSocketAddress PEER = SimNetwork.address(1);

    @FuzzTest(maxDuration = "60s")
    void decoderReadsOrRefusesAnyBytes(byte[] input) {
        try {
            byte[] once = Codec.encode(Codec.decode(input));
            assertArrayEquals(once, Codec.encode(Codec.decode(once)), "re-encoding is stable");
        } catch (WireFormatException expected) {
            // malformed input is refused with a reason
        }

        var metrics = new MembershipMetrics(new MetricRegistry(), "fuzz");
        var meta = new NodeMetadata("r0", "10.0.0.1", 8400, "", "", "", "READY", List.of(), 1, "fuzz");
        var sent = new int[1];
        Transport counting = new Transport() {
            @Override
            public void sendPacket(InetSocketAddress to, byte[] packet) {
                sent[0]++;
            }

            @Override
            public void sendStream(InetSocketAddress to, byte[] frame) {
                sent[0]++;
            }
        };
        var protocol = new SwimProtocol("self", SimNetwork.address(0), meta, MembershipConfig.lan(),
                Keyring.plaintext(), counting, new SplittableRandom(1), metrics, List.of(), null, 0);
        byte[] packet = new byte[input.length + 1];
        System.arraycopy(input, 0, packet, 1, input.length);
        protocol.onPacket(PEER, packet, 1);
        protocol.onStream(PEER, packet, 2);
        protocol.onTimers(3_000_000_000L);
        assertEquals(MemberState.ALIVE, protocol.members().get("self").state);
    }
}
