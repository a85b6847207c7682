package io.gpud.membership;

import java.util.List;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CoordinateCodecTest {

    private static NetworkCoordinate coordinate() {
        return new NetworkCoordinate(new double[] {0.01, -0.02, 0, 0, 0.003, 0, 0, 1e-4}, 1e-5, 0.4, -0.001);
    }

    @Test
    void aCoordinateBesideAnAckSurvivesTheWire() {
        var m = new Message.Compound(List.of(new Message.Coordinate("node-a", coordinate()), new Message.Ack(7)));
        var back = (Message.Compound) Codec.decode(Codec.encode(m));
        assertEquals(m.parts().getFirst(), back.parts().getFirst());
        assertEquals(new Message.Ack(7), back.parts().get(1));
    }

    @Test
    void aCoordinateThatIsNotANumberIsAWireFormatError() {
        byte[] bytes = Codec.encode(new Message.Coordinate("n", coordinate()));
        // Overwrite the height (after type, name and 8 components) with NaN's bits.
        int height = 1 + 1 + 1 + 8 * 8;
        long nan = Double.doubleToRawLongBits(Double.NaN);
        for (int i = 0; i < 8; i++) {
            bytes[height + i] = (byte) (nan >>> (56 - 8 * i));
        }
        assertThrows(WireFormatException.class, () -> Codec.decode(bytes));
    }
}
