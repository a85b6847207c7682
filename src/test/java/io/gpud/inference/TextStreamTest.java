package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class TextStreamTest {
    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void multiByteCharacterSplitAcrossTokensIsHeldUntilComplete() {
        var stream = new TextStream(List.of());
        byte[] llama = utf8("🦙");
        assertEquals("a", stream.push(new byte[] {'a', llama[0]}, false));
        assertEquals("", stream.push(new byte[] {llama[1]}, false));
        assertEquals("", stream.push(new byte[] {llama[2]}, false));
        assertEquals("🦙b", stream.push(new byte[] {llama[3], 'b'}, false));
    }

    @Test
    void invalidBytesBecomeReplacementCharacters() {
        var stream = new TextStream(List.of());
        assertEquals("\uFFFDx", stream.push(new byte[] {(byte) 0xFF, 'x'}, false));
        byte[] euro = utf8("€");
        assertEquals("", stream.push(new byte[] {euro[0], euro[1]}, false));
        assertEquals("\uFFFD", stream.push(new byte[0], true));
    }

    @Test
    void stopSequenceIsHeldBackThenNotEmitted() {
        var stream = new TextStream(List.of("\n\nUser:"));
        assertEquals("Hello", stream.push(utf8("Hello\n"), false));
        assertEquals("", stream.push(utf8("\nUs"), false));
        assertFalse(stream.stopped());
        assertEquals("", stream.push(utf8("er: more"), false));
        assertTrue(stream.stopped());
    }

    @Test
    void heldTextThatIsNotAStopIsReleased() {
        var stream = new TextStream(List.of("STOP"));
        assertEquals("a", stream.push(utf8("aST"), false));
        assertEquals("STx", stream.push(utf8("x"), false));
        assertEquals("abST", stream.push(utf8("abST"), true));
        assertFalse(stream.stopped());
    }

    @Test
    void earliestOfSeveralStopSequencesWins() {
        var stream = new TextStream(List.of("xyz", "b"));
        assertEquals("a", stream.push(utf8("abxyz"), false));
        assertTrue(stream.stopped());
    }
}
