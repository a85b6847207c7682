package io.gpud.membership;

import io.gpud.config.MembershipConfig;
import io.gpud.metrics.MetricRegistry;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A deterministic world of {@link MembershipStateMachine} nodes (the LAN pool's
 * {@link SwimProtocol}, and for nodes added with {@link #addFederated} the WAN federation:
 * bridge election, region summaries and their relay): one simulated clock, one event queue
 * ordered by (time, sequence), and a network that loses, delays, duplicates and
 * partitions packets. Nodes can crash, restart and be CPU-starved (their events wait until
 * the stall ends, then run back to back, as a descheduled process would run them). Every
 * random choice — the network's and each node's — comes from one seed, so a run replays
 * exactly. {@link #invariant} runs after every event.
 */
final class SimNetwork {

    /** One simulated host. */
    final class SimNode {
        final int index;
        final String name;
        final InetSocketAddress address;
        /** Where its WAN pool listens: the same host, the next port. */
        final InetSocketAddress wanAddress;
        final String region;
        final MembershipMetrics metrics = new MembershipMetrics(new MetricRegistry(), "sim");
        final MembershipMetrics wanMetrics = new MembershipMetrics(new MetricRegistry(), "sim-wan");
        /** Bridges per region and the WAN seeds for a federated node; 0 and none for a LAN-only one. */
        int wanBridges;
        List<InetSocketAddress> wanSeeds = List.of();
        MembershipStateMachine machine;
        /** The machine's LAN pool. */
        SwimProtocol protocol;
        /** What its load records tell of its prefix cache, and what it knows of its peers'. */
        PrefixCaches caches;
        /** The machine's federation; null for a LAN-only node. */
        RegionFederation federation;
        boolean crashed;
        long scheduledWake = Long.MAX_VALUE;
        /** CPU starvation: stalls of this length every {@code starvePeriod}; 0 = never. */
        long stallNanos;
        long starvePeriod;
        long starvePhase;
        boolean stalledBacklogScheduled;
        final ArrayDeque<Event> backlog = new ArrayDeque<>();
        double lastDeaths;
        /** The incarnation the invariants last saw on this node; -1 before the first check. */
        long checkedIncarnation = -1;

        SimNode(int index, String name, InetSocketAddress address, String region) {
            this.index = index;
            this.name = name;
            this.address = address;
            this.wanAddress = new InetSocketAddress(address.getAddress(), WAN_PORT);
            this.region = region;
        }

        /** End of the stall that {@code t} falls in, or {@code t} if the node is running then. */
        long runnableAt(long t) {
            if (stallNanos == 0) {
                return t;
            }
            long into = Math.floorMod(t - starvePhase, starvePeriod);
            return into < stallNanos ? t + (stallNanos - into) : t;
        }
    }

    sealed interface Event {
        record Deliver(SimNode to, MembershipStateMachine.Pool pool, InetSocketAddress from, byte[] bytes,
                       boolean stream) implements Event {
        }

        record Wake(SimNode node) implements Event {
        }
    }

    /**
     * Pending events as a binary min-heap ordered by (time, sequence): sequence numbers are
     * unique, so the order is total and a run replays exactly. Each entry's time and
     * sequence sit side by side in one array (one cache line per comparison), and no object
     * is made per scheduled event.
     */
    private static final class EventQueue {
        /** time of entry i at 2i, its sequence at 2i + 1. */
        private long[] keys = new long[2 * 1024];
        private Event[] events = new Event[1024];
        private int size;

        boolean isEmpty() {
            return size == 0;
        }

        long peekTime() {
            return keys[0];
        }

        void add(long time, long seq, Event e) {
            if (size == events.length) {
                keys = Arrays.copyOf(keys, 4 * size);
                events = Arrays.copyOf(events, 2 * size);
            }
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                long pt = keys[2 * parent];
                if (pt < time || (pt == time && keys[2 * parent + 1] < seq)) {
                    break;
                }
                keys[2 * i] = pt;
                keys[2 * i + 1] = keys[2 * parent + 1];
                events[i] = events[parent];
                i = parent;
            }
            keys[2 * i] = time;
            keys[2 * i + 1] = seq;
            events[i] = e;
        }

        /** Removes the earliest event; its time was read with {@link #peekTime()}. */
        Event poll() {
            Event top = events[0];
            int n = --size;
            long time = keys[2 * n];
            long seq = keys[2 * n + 1];
            Event e = events[n];
            events[n] = null;
            int i = 0;
            int half = n >>> 1;
            while (i < half) {
                int child = 2 * i + 1;
                long ct = keys[2 * child];
                long cs = keys[2 * child + 1];
                int right = child + 1;
                if (right < n) {
                    long rt = keys[2 * right];
                    long rs = keys[2 * right + 1];
                    if (rt < ct || (rt == ct && rs < cs)) {
                        child = right;
                        ct = rt;
                        cs = rs;
                    }
                }
                if (time < ct || (time == ct && seq < cs)) {
                    break;
                }
                keys[2 * i] = ct;
                keys[2 * i + 1] = cs;
                events[i] = events[child];
                i = child;
            }
            if (n > 0) {
                keys[2 * i] = time;
                keys[2 * i + 1] = seq;
                events[i] = e;
            }
            return top;
        }
    }

    private static final int LAN_PORT = 7946;
    private static final int WAN_PORT = 7947;
    private static final long SYN_RETRY_NANOS = SimClock.s(1);
    private static final long DATA_RETRY_NANOS = SimClock.ms(200);

    final long seed;
    final SimClock clock = new SimClock();
    private final SplittableRandom random;
    private final EventQueue queue = new EventQueue();
    private long seq;
    final List<SimNode> nodes = new ArrayList<>();

    double lossRate;
    double duplicateRate;
    long minDelayNanos = SimClock.ms(0.2);
    long jitterNanos = SimClock.ms(1.0);
    /** Extra one-way delay between different regions. */
    long crossRegionDelayNanos = SimClock.ms(30);
    /** Partition: nodes in different groups cannot reach each other; null = none. */
    int[] partition;
    long eventsRun;
    /** Checked after every event; throws with the seed on violation. */
    Consumer<SimNode> invariant = n -> { };
    /** Called after every event that ran on a node. */
    Consumer<SimNode> observer = n -> { };

    SimNetwork(long seed) {
        this.seed = seed;
        this.random = new SplittableRandom(seed);
    }

    /** Each node's prefix-cache announcements, set before nodes are added; null: none announce. */
    java.util.function.Function<SimNode, PrefixCaches.Source> cacheSources;

    /** Adds a node; it starts now and joins through {@code seeds}. */
    SimNode add(String name, String region, MembershipConfig config, Keyring keyring, List<SimNode> seeds,
                Supplier<LoadRecord> load) {
        int i = nodes.size();
        InetSocketAddress address = address(i);
        var node = new SimNode(i, name, address, region);
        nodes.add(node);
        boot(node, config, keyring, seeds.stream().map(s -> s.address).toList(), load);
        return node;
    }

    /**
     * Adds a node with the WAN pool on: {@code bridges} per region, WAN seeds
     * {@code wanSeeds} (their WAN addresses). It starts now and joins its region's pool
     * through {@code seeds}.
     */
    SimNode addFederated(String name, String region, MembershipConfig config, Keyring keyring, List<SimNode> seeds,
                         List<SimNode> wanSeeds, int bridges) {
        int i = nodes.size();
        var node = new SimNode(i, name, address(i), region);
        node.wanBridges = bridges;
        node.wanSeeds = wanSeeds.stream().map(s -> s.wanAddress).toList();
        nodes.add(node);
        boot(node, config, keyring, seeds.stream().map(s -> s.address).toList(), null);
        return node;
    }

    private void boot(SimNode node, MembershipConfig config, Keyring keyring, List<InetSocketAddress> seeds,
                      Supplier<LoadRecord> load) {
        var meta = new NodeMetadata(node.region, node.address.getAddress().getHostAddress(), 8400, "az1", "", "",
                "READY", List.of(new NodeMetadata.Model("m", "1")), 8, "sim");
        var nodeRandom = new SplittableRandom(random.nextLong());
        node.caches = new PrefixCaches(node.name, cacheSources == null ? PrefixCaches.Source.NONE
                : cacheSources.apply(node));
        node.protocol = new SwimProtocol(node.name, node.address, meta, config, keyring,
                new NodeTransport(node, MembershipStateMachine.Pool.LAN), nodeRandom, node.metrics, seeds, load,
                node.caches, clock.nanos());
        Federation federation = Federation.OFF;
        node.federation = null;
        if (node.wanBridges > 0) {
            List<InetSocketAddress> wanSeeds = node.wanSeeds;
            var pool = new RegionFederation.WanPool(node.wanAddress,
                    new NodeTransport(node, MembershipStateMachine.Pool.WAN), node.wanMetrics, node.wanBridges,
                    () -> wanSeeds);
            node.federation = new RegionFederation(node.name, meta, node.protocol, config, pool, nodeRandom, load,
                    clock.nanos());
            federation = node.federation;
        }
        node.machine = new MembershipStateMachine(node.protocol, federation);
        node.crashed = false;
        node.lastDeaths = 0;
        schedule(node);
    }

    /** Restarts a crashed node as a fresh process (incarnation 0) that joins through {@code seeds}. */
    void restart(SimNode node, MembershipConfig config, Keyring keyring, List<SimNode> seeds) {
        node.backlog.clear();
        boot(node, config, keyring, seeds.stream().map(s -> s.address).toList(), null);
    }

    void crash(SimNode node) {
        node.crashed = true;
        node.backlog.clear();
    }

    void starve(SimNode node, long stall, long period) {
        node.stallNanos = stall;
        node.starvePeriod = period;
        node.starvePhase = random.nextLong(period);
    }

    /**
     * The node at {@code address}, or null: node i lives at 10.(i>>16).(i>>8).i, its LAN pool
     * on port 7946 and its WAN pool on 7947, and an IPv4 address hashes to its own 32 bits,
     * so this costs no allocation and no map lookup.
     */
    private SimNode byAddress(InetSocketAddress address) {
        if (address.getAddress() == null) {
            return null;
        }
        int ip = address.getAddress().hashCode();
        int i = ip & 0xFFFFFF;
        if ((ip >>> 24) != 10 || (address.getPort() != LAN_PORT && address.getPort() != WAN_PORT)
                || i >= nodes.size()) {
            return null;
        }
        return nodes.get(i);
    }

    private static MembershipStateMachine.Pool pool(InetSocketAddress address) {
        return address.getPort() == WAN_PORT ? MembershipStateMachine.Pool.WAN : MembershipStateMachine.Pool.LAN;
    }

    static InetSocketAddress address(int i) {
        try {
            return new InetSocketAddress(InetAddress.getByAddress(new byte[] {10, (byte) (i >> 16), (byte) (i >> 8),
                    (byte) i}), LAN_PORT);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    private void push(long time, Event e) {
        queue.add(time, seq++, e);
    }

    /** Makes sure the node wakes at its protocol's next deadline. */
    private void schedule(SimNode node) {
        if (node.crashed) {
            return;
        }
        long d = Math.max(node.machine.nextDeadline(), clock.nanos());
        if (d < node.scheduledWake || node.scheduledWake < clock.nanos()) {
            node.scheduledWake = d;
            if (d != Long.MAX_VALUE) {
                push(d, new Event.Wake(node));
            }
        }
    }

    /** Runs events until simulated time {@code until}. */
    void runUntil(long until) {
        while (!queue.isEmpty() && queue.peekTime() <= until) {
            long time = queue.peekTime();
            Event event = queue.poll();
            clock.advanceTo(time);
            eventsRun++;
            switch (event) {
                case Event.Deliver d -> deliver(d);
                case Event.Wake w -> wake(w.node(), time);
            }
        }
        clock.advanceTo(Math.max(clock.nanos(), until));
    }

    private void deliver(Event.Deliver d) {
        SimNode node = d.to();
        if (node.crashed) {
            return;
        }
        long now = clock.nanos();
        long runnable = node.runnableAt(now);
        if (runnable > now) {
            // Descheduled: the packet waits in the socket buffer until the stall ends.
            node.backlog.add(d);
            if (!node.stalledBacklogScheduled) {
                node.stalledBacklogScheduled = true;
                push(runnable, new Event.Wake(node));
            }
            return;
        }
        handle(node, d, now);
        node.machine.onTimers(now);
        after(node);
    }

    private void handle(SimNode node, Event.Deliver d, long now) {
        if (d.stream()) {
            node.machine.onStream(d.pool(), d.from(), d.bytes(), now);
        } else {
            node.machine.onPacket(d.pool(), d.from(), d.bytes(), now);
        }
    }

    private void wake(SimNode node, long time) {
        if (node.crashed) {
            return;
        }
        long now = clock.nanos();
        long runnable = node.runnableAt(now);
        if (runnable > now) {
            if (!node.stalledBacklogScheduled) {
                node.stalledBacklogScheduled = true;
                push(runnable, new Event.Wake(node));
            }
            return;
        }
        if (time == node.scheduledWake) {
            node.scheduledWake = Long.MAX_VALUE;
        }
        node.stalledBacklogScheduled = false;
        // Everything that queued up during a stall runs first, then the timers: the
        // agent's loop drains its inbox the same way.
        while (!node.backlog.isEmpty()) {
            handle(node, (Event.Deliver) node.backlog.poll(), now);
        }
        node.machine.onTimers(now);
        after(node);
    }

    private void after(SimNode node) {
        schedule(node);
        invariant.accept(node);
        observer.accept(node);
    }

    private boolean reachable(SimNode from, SimNode to) {
        return partition == null || partition[from.index] == partition[to.index];
    }

    private long delay(SimNode from, SimNode to) {
        long d = minDelayNanos + (jitterNanos > 0 ? random.nextLong(jitterNanos) : 0);
        return from.region.equals(to.region) ? d : d + crossRegionDelayNanos;
    }

    /** The network as one node's pool sees it. */
    private final class NodeTransport implements Transport {
        private final SimNode from;
        private final InetSocketAddress fromAddress;

        NodeTransport(SimNode from, MembershipStateMachine.Pool pool) {
            this.from = from;
            this.fromAddress = pool == MembershipStateMachine.Pool.WAN ? from.wanAddress : from.address;
        }

        @Override
        public void sendPacket(InetSocketAddress to, byte[] packet) {
            SimNode target = byAddress(to);
            if (target == null || !reachable(from, target) || random.nextDouble() < lossRate) {
                return;
            }
            var pool = pool(to);
            push(clock.nanos() + delay(from, target), new Event.Deliver(target, pool, fromAddress, packet, false));
            if (duplicateRate > 0 && random.nextDouble() < duplicateRate) {
                push(clock.nanos() + delay(from, target), new Event.Deliver(target, pool, fromAddress, packet, false));
            }
        }

        @Override
        public void sendStream(InetSocketAddress to, byte[] frame) {
            SimNode target = byAddress(to);
            if (target == null || target.crashed || !reachable(from, target)) {
                return;
            }
            // A TCP exchange: SYN, SYN-ACK, then the data, each leg lost as a packet is and
            // then resent after the kernel's timeout (1 s for the handshake, 200 ms for data).
            long t = 0;
            for (int leg = 0; leg < 3; leg++) {
                t += delay(from, target);
                while (lossRate > 0 && random.nextDouble() < lossRate) {
                    t += leg < 2 ? SYN_RETRY_NANOS : DATA_RETRY_NANOS;
                }
            }
            push(clock.nanos() + t, new Event.Deliver(target, pool(to), fromAddress, frame, true));
        }
    }

    /** Fails with the seed, so the run can be replayed. */
    AssertionError violation(String what) {
        return new AssertionError("invariant violated at t=" + clock.nanos() / 1_000_000 + " ms (seed " + seed
                + ", replay with this seed): " + what);
    }
}
