package io.gpud.membership;

/**
 * A member's load, sent by UDP to its region peers every {@code loadInterval} and never
 * gossiped: about 64 bytes on the wire.
 *
 * @param node            the sender
 * @param sequence        increases with every record the sender sends; a reader keeps the
 *                        highest it has seen, so reordered or duplicated packets never
 *                        make load look older
 * @param sentAtMillis    the sender's wall clock when it sent the record (informational;
 *                        the reader measures age on its own clock from receipt)
 * @param queueDepth      sequences waiting to start
 * @param inFlight        sequences generating
 * @param tokensPerSecond tokens generated per second, recently
 */
public record LoadRecord(String node, long sequence, long sentAtMillis, int queueDepth, int inFlight,
                         float tokensPerSecond) {
}
