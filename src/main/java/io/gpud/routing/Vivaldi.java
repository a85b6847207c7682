package io.gpud.routing;

import io.gpud.membership.CoordinateExchange;
import io.gpud.membership.NetworkCoordinate;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.random.RandomGenerator;

/**
 * Vivaldi network coordinates (Dabek et al., SIGCOMM 2004, with the refinements Serf uses):
 * every node places itself in an 8-dimensional Euclidean space plus a non-negative height
 * (its access link) so that the distance between two nodes' coordinates predicts their
 * round-trip time. A node that has probed only some peers still has an estimate to every
 * peer whose coordinate it has heard.
 *
 * <p>Each direct probe gives one sample: the measured RTT to a peer and the peer's
 * coordinate (carried in its ack). The sample moves this node like a spring: toward the
 * peer when the coordinates overestimate the RTT, away when they underestimate it, by an
 * amount scaled by how sure this node is relative to the peer ({@code error}). Refinements:
 * <ul>
 * <li>per-peer median of the last {@value #LATENCY_FILTER} RTTs, so one delayed packet does
 * not throw the coordinate;
 * <li>a per-node {@code adjustment}, half the mean residual of the last
 * {@value #ADJUSTMENT_WINDOW} samples, which absorbs what a Euclidean space cannot express;
 * <li>gravity toward the origin ({@code (distance / rho)^2}), so the whole system does not
 * drift away over time.
 * </ul>
 * Units are seconds throughout. {@link #observed} runs on the gossip thread; the coordinate
 * is published through a volatile field for readers on request threads.
 */
public final class Vivaldi implements CoordinateExchange {

    static final int LATENCY_FILTER = 3;
    static final int ADJUSTMENT_WINDOW = 20;
    private static final double ERROR_MAX = 1.5;
    private static final double CE = 0.25;
    private static final double CC = 0.25;
    private static final double HEIGHT_MIN = 10e-6;
    private static final double GRAVITY_RHO = 150.0;
    private static final double ZERO = 1e-6;
    /** A sample above this is a broken measurement, not a network. */
    private static final double MAX_RTT_SECONDS = 10.0;

    private final RandomGenerator random;
    private final Map<String, ArrayDeque<Double>> samples = new HashMap<>();
    private final double[] residuals = new double[ADJUSTMENT_WINDOW];
    private int residualIndex;
    private final Map<String, NetworkCoordinate> peers = new ConcurrentHashMap<>();
    private volatile NetworkCoordinate self;
    /** Bumped after every change to this node's or a peer's coordinate. */
    private volatile long version;

    /** A node at the origin, fully unsure of its place. */
    public Vivaldi(RandomGenerator random) {
        this.random = random;
        this.self = origin();
    }

    /** The coordinate every node starts at. */
    public static NetworkCoordinate origin() {
        return new NetworkCoordinate(new double[NetworkCoordinate.DIMENSIONS], HEIGHT_MIN, ERROR_MAX, 0);
    }

    @Override
    public NetworkCoordinate local() {
        return self;
    }

    /**
     * A number that changes whenever {@link #local()} or any {@link #peer} coordinate has
     * changed: estimates computed after reading version {@code v} stay valid while
     * {@code version() == v}.
     */
    public long version() {
        return version;
    }

    /** The coordinate {@code node} last acked with, or null. */
    public NetworkCoordinate peer(String node) {
        return peers.get(node);
    }

    /** Forgets a peer's coordinate and samples (it left or died). */
    public synchronized void forget(String node) {
        peers.remove(node);
        samples.remove(node);
        version++;
    }

    @Override
    public synchronized void observed(String node, Duration rtt, NetworkCoordinate remote) {
        double seconds = rtt.toNanos() / 1e9;
        if (!(seconds >= 0) || seconds > MAX_RTT_SECONDS) {
            return;
        }
        peers.put(node, remote);
        double filtered = median(node, seconds);
        NetworkCoordinate c = self;
        double dist = rawDistance(c, remote);
        double wrongness = Math.abs(dist - filtered) / Math.max(filtered, ZERO);
        double totalError = c.error() + remote.error();
        double weight = totalError < ZERO ? 1.0 : c.error() / totalError;
        double error = Math.min(ERROR_MAX, CE * weight * wrongness + c.error() * (1.0 - CE * weight));
        double force = CC * weight * (filtered - dist);
        double[] vec = c.vector();
        double height = c.height();
        double mag = push(vec, remote, force);
        if (mag > ZERO) {
            height = Math.max(HEIGHT_MIN, (height + remote.height()) * force / mag + height);
        }
        // Gravity: pull toward the origin, harder the farther out.
        double[] origin = new double[NetworkCoordinate.DIMENSIONS];
        double fromOrigin = norm(vec);
        if (fromOrigin > ZERO) {
            double g = Math.pow(fromOrigin / GRAVITY_RHO, 2);
            for (int i = 0; i < vec.length; i++) {
                vec[i] += (origin[i] - vec[i]) / fromOrigin * g;
            }
        }
        var moved = new NetworkCoordinate(vec, height, error, c.adjustment());
        residuals[residualIndex] = filtered - rawDistance(moved, remote);
        residualIndex = (residualIndex + 1) % residuals.length;
        double sum = 0;
        for (double r : residuals) {
            sum += r;
        }
        self = new NetworkCoordinate(vec, height, error, sum / (2.0 * residuals.length));
        version++;
    }

    /** Moves {@code vec} by {@code force} along the direction from {@code remote}; returns their distance. */
    private double push(double[] vec, NetworkCoordinate remote, double force) {
        double[] diff = new double[vec.length];
        for (int i = 0; i < vec.length; i++) {
            diff[i] = vec[i] - remote.component(i);
        }
        double mag = norm(diff);
        if (mag <= ZERO) {
            // Same place: pick a random direction so two new nodes can separate.
            for (int i = 0; i < diff.length; i++) {
                diff[i] = random.nextDouble() - 0.5;
            }
            double m = norm(diff);
            for (int i = 0; i < vec.length; i++) {
                vec[i] += diff[i] / m * force;
            }
            return 0;
        }
        for (int i = 0; i < vec.length; i++) {
            vec[i] += diff[i] / mag * force;
        }
        return mag;
    }

    private double median(String node, double seconds) {
        ArrayDeque<Double> window = samples.computeIfAbsent(node, n -> new ArrayDeque<>(LATENCY_FILTER));
        if (window.size() == LATENCY_FILTER) {
            window.removeFirst();
        }
        window.addLast(seconds);
        double[] sorted = window.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    /** The estimated RTT between two coordinates, in seconds. */
    public static double estimate(NetworkCoordinate a, NetworkCoordinate b) {
        double raw = rawDistance(a, b);
        double adjusted = raw + a.adjustment() + b.adjustment();
        return adjusted > 0 ? adjusted : raw;
    }

    private static double rawDistance(NetworkCoordinate a, NetworkCoordinate b) {
        double sum = 0;
        for (int i = 0; i < NetworkCoordinate.DIMENSIONS; i++) {
            double d = a.component(i) - b.component(i);
            sum += d * d;
        }
        return Math.sqrt(sum) + a.height() + b.height();
    }

    private static double norm(double[] v) {
        double sum = 0;
        for (double x : v) {
            sum += x * x;
        }
        return Math.sqrt(sum);
    }
}
