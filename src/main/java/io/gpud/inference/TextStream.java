package io.gpud.inference;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Turns the bytes of generated tokens into the text a client may see, one token at a time.
 *
 * <p>Two things are held back until they are settled: the bytes of a UTF-8 character whose
 * remaining bytes have not been generated yet (invalid bytes become U+FFFD), and the end of
 * the text while it could still be the beginning of a stop sequence. When a stop sequence
 * appears, the text before it is released and the stream is stopped; the stop sequence
 * itself is never released. At the last token everything held back is released.
 */
final class TextStream {
    private final List<String> stops;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    private byte[] incompleteBytes = new byte[0];
    private String heldText = "";
    private boolean stopped;

    /** @param stops stop sequences; empty strings are ignored */
    TextStream(List<String> stops) {
        this.stops = stops.stream().filter(s -> !s.isEmpty()).toList();
    }

    /** Whether a stop sequence was found. */
    boolean stopped() {
        return stopped;
    }

    /** Adds one token's bytes; returns the text that became final. */
    String push(byte[] bytes, boolean last) {
        if (stopped) {
            throw new IllegalStateException("the text stream already stopped at a stop sequence");
        }
        String text = heldText + decode(bytes, last);
        heldText = "";
        int stopAt = -1;
        for (String stop : stops) {
            int at = text.indexOf(stop);
            if (at >= 0 && (stopAt < 0 || at < stopAt)) {
                stopAt = at;
            }
        }
        if (stopAt >= 0) {
            stopped = true;
            return text.substring(0, stopAt);
        }
        if (last) {
            return text;
        }
        int hold = longestStopPrefixSuffix(text);
        heldText = text.substring(text.length() - hold);
        return text.substring(0, text.length() - hold);
    }

    /** The length of the longest end of {@code text} that a stop sequence starts with. */
    private int longestStopPrefixSuffix(String text) {
        int longest = 0;
        for (String stop : stops) {
            for (int length = Math.min(stop.length() - 1, text.length()); length > longest; length--) {
                if (text.regionMatches(text.length() - length, stop, 0, length)) {
                    longest = length;
                    break;
                }
            }
        }
        return longest;
    }

    private String decode(byte[] bytes, boolean last) {
        ByteBuffer in = ByteBuffer.allocate(incompleteBytes.length + bytes.length);
        in.put(incompleteBytes).put(bytes).flip();
        CharBuffer out = CharBuffer.allocate(in.remaining() + 2);
        utf8.decode(in, out, last);
        if (last) {
            utf8.flush(out);
        }
        incompleteBytes = new byte[in.remaining()];
        in.get(incompleteBytes);
        return out.flip().toString();
    }
}
