package io.gpud.membership;

/**
 * A packet or stream that does not parse. Thrown only inside the decoder and turned into a
 * counted, dropped packet at its edge; it never leaves the package.
 */
final class WireFormatException extends RuntimeException {
    WireFormatException(String message) {
        super(message, null, false, false);
    }
}
