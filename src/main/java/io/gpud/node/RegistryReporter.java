package io.gpud.node;

import io.gpud.config.GpudConfig;
import io.gpud.core.NodeState;
import io.gpud.state.NodeRecord;
import io.gpud.state.RegionHealth;
import io.gpud.state.StateException;
import io.gpud.state.StateStore;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes this node's registry item every {@code state.reportEvery}: its state, its request
 * counter, in-flight and queue depth, valid for {@code state.nodeTtl}. While the node
 * leads some pool it also writes its region's health summary. One writer per item: only
 * this node writes its own.
 */
final class RegistryReporter implements Runnable, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RegistryReporter.class);

    private final StateStore store;
    private final GpudConfig config;
    private final String nodeId;
    private final Supplier<String> address;
    private final Supplier<NodeState> state;
    private final LongSupplier requests;
    private final IntSupplier inFlight;
    private final IntSupplier queueDepth;
    private final BooleanSupplier leadsAPool;
    private final InstantSource wall;
    private final CountDownLatch closed = new CountDownLatch(1);

    RegistryReporter(StateStore store, GpudConfig config, String nodeId, Supplier<String> address,
            Supplier<NodeState> state, LongSupplier requests, IntSupplier inFlight, IntSupplier queueDepth,
            BooleanSupplier leadsAPool, InstantSource wall) {
        this.store = store;
        this.config = config;
        this.nodeId = nodeId;
        this.address = address;
        this.state = state;
        this.requests = requests;
        this.inFlight = inFlight;
        this.queueDepth = queueDepth;
        this.leadsAPool = leadsAPool;
        this.wall = wall;
    }

    /** Writes the item once. */
    void report() {
        Instant now = wall.instant();
        String region = config.node().region();
        store.putNode(new NodeRecord(nodeId, region, config.scaling().pool(), address.get(), state.get().name(),
                requests.getAsLong(), inFlight.getAsInt(), queueDepth.getAsInt(), now,
                now.plus(config.state().nodeTtl())));
        if (leadsAPool.getAsBoolean()) {
            List<NodeRecord> nodes = store.nodes(region, now);
            int ready = (int) nodes.stream().filter(n -> n.state().equals(NodeState.READY.name())).count();
            store.putRegionHealth(new RegionHealth(region, ready, nodes.size(), nodeId, now,
                    now.plus(config.state().nodeTtl())));
        }
    }

    @Override
    public void run() {
        try {
            do {
                try {
                    report();
                } catch (StateException e) {
                    log.warn("node registry: {}", e.getMessage());
                }
            } while (!closed.await(config.state().reportEvery().toNanos(), TimeUnit.NANOSECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        closed.countDown();
    }
}
