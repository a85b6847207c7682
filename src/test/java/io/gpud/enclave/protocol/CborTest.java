package io.gpud.enclave.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CborTest {

    private static byte[] hex(String h) {
        return HexFormat.of().parseHex(h);
    }

    private static String refusal(String h) {
        return assertThrows(ProtocolException.class, () -> Cbor.decode(hex(h))).getMessage();
    }

    @Test
    void roundTripsEveryType() {
        var map = new LinkedHashMap<String, Object>();
        map.put("n", 23L);
        map.put("big", 1L << 40);
        map.put("neg", -500L);
        map.put("bytes", new byte[] {1, 2, 3});
        map.put("text", "héllo");
        map.put("list", List.of(true, false));
        map.put("null", null);
        map.put("tag", new Cbor.Tagged(18, 1L));
        var back = (Map<?, ?>) Cbor.decode(Cbor.encode(map));
        assertEquals(23L, back.get("n"));
        assertEquals(1L << 40, back.get("big"));
        assertEquals(-500L, back.get("neg"));
        assertArrayEquals(new byte[] {1, 2, 3}, (byte[]) back.get("bytes"));
        assertEquals("héllo", back.get("text"));
        assertEquals(List.of(true, false), back.get("list"));
        assertTrue(back.containsKey("null"));
        assertEquals(new Cbor.Tagged(18, 1L), back.get("tag"));
    }

    @Test
    void refusesIndefiniteLengths() {
        assertTrue(refusal("5f4101ff").contains("indefinite"));   // byte string
        assertTrue(refusal("9f01ff").contains("indefinite"));     // array
        assertTrue(refusal("bf616101ff").contains("indefinite")); // map
    }

    @Test
    void refusesDuplicateKeys() {
        assertTrue(refusal("a2616101616102").contains("duplicate map key a"));
        assertTrue(refusal("a201010102").contains("duplicate map key 1"));
    }

    @Test
    void refusesNestingDeeperThanTheCap() {
        byte[] deep = new byte[40];
        java.util.Arrays.fill(deep, (byte) 0x81);  // [[[[...
        deep[deep.length - 1] = 0x01;
        var e = assertThrows(ProtocolException.class, () -> Cbor.decode(deep));
        assertTrue(e.getMessage().contains("nesting deeper than 8"), e.getMessage());
    }

    @Test
    void refusesLengthsLongerThanTheInputBeforeAllocating() {
        assertTrue(refusal("5b7fffffffffffffff").contains("only 0 bytes left"));  // 2^63-1 byte string
        assertTrue(refusal("5affffffff").contains("length 4294967295"));
        assertTrue(refusal("9b00000000ffffffff").contains("over the cap"));        // array of 2^32-1
        assertTrue(refusal("5bffffffffffffffff").contains("above 2^63-1"));
        assertTrue(refusal("4301").contains("length 3 but only 1"));
    }

    @Test
    void refusesFloatsTrailingBytesBadUtf8AndTruncation() {
        assertTrue(refusal("fb3ff0000000000000").contains("float"));
        assertTrue(refusal("0101").contains("trailing"));
        assertTrue(refusal("62c328").contains("UTF-8"));
        assertTrue(refusal("").contains("end of input"));
        assertTrue(refusal("1901").contains("bytes left"));
        assertTrue(refusal("a1f601").contains("map key"));
    }
}
