package io.gpud.membership;

import java.util.Arrays;

/**
 * A member's position in a Vivaldi network-coordinate space, as it sends it with its probe
 * acks so that others can learn their own positions from measured round trips. Distances
 * in seconds. Routing owns the algorithm; membership only carries the numbers.
 *
 * @param vector     the Euclidean part, {@link #DIMENSIONS} components
 * @param height     the access-link part, added to every distance (non-negative)
 * @param error      the member's confidence in its position, 0 (sure) to about 1.5
 * @param adjustment a per-node offset learned from recent residuals
 */
public record NetworkCoordinate(double[] vector, double height, double error, double adjustment) {

    /** Dimensions of the Euclidean part. */
    public static final int DIMENSIONS = 8;

    public NetworkCoordinate {
        if (vector.length != DIMENSIONS) {
            throw new IllegalArgumentException("a coordinate has " + DIMENSIONS + " dimensions, was " + vector.length);
        }
        vector = vector.clone();
        for (double v : vector) {
            finite("component", v);
        }
        finite("height", height);
        finite("error", error);
        finite("adjustment", adjustment);
        if (height < 0 || error < 0) {
            throw new IllegalArgumentException("coordinate height " + height + " and error " + error
                    + " must be non-negative");
        }
    }

    private static void finite(String what, double v) {
        if (!Double.isFinite(v) || Math.abs(v) > 1e6) {
            throw new IllegalArgumentException("coordinate " + what + " was " + v + ", not a finite number of seconds");
        }
    }

    @Override
    public double[] vector() {
        return vector.clone();
    }

    /** Component {@code i} of the vector, without copying it. */
    public double component(int i) {
        return vector[i];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NetworkCoordinate c && Arrays.equals(vector, c.vector) && height == c.height
                && error == c.error && adjustment == c.adjustment;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(vector) * 31 + Double.hashCode(height);
    }

    @Override
    public String toString() {
        return "NetworkCoordinate" + Arrays.toString(vector) + " h=" + height + " e=" + error + " a=" + adjustment;
    }
}
