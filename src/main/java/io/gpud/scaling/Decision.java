package io.gpud.scaling;

/** What the controller decided at one evaluation: keep the capacity, or change it. */
public sealed interface Decision permits Decision.Hold, Decision.Resize {

    /** Why; one line. */
    String reason();

    /** Keep the desired capacity as it is. */
    record Hold(int desired, String reason) implements Decision {
    }

    /** Change the desired capacity from {@code from} to {@code to}. */
    record Resize(int from, int to, String reason) implements Decision {
        public Resize {
            if (from == to) {
                throw new IllegalArgumentException("a resize from " + from + " to " + to + " changes nothing");
            }
        }
    }
}
