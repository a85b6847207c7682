package io.gpud.membership;

import io.gpud.config.MembershipConfig;
import io.gpud.membership.SimNetwork.SimNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The membership scenarios of SPEC section 4, run in the simulator. The test suite runs
 * them small; {@code bench/membership-sim} runs them at full size and prints the table.
 */
final class MembershipScenarios {

    private MembershipScenarios() {
    }

    /** Percentiles of a sample, in milliseconds. */
    record Stats(int count, double p50Ms, double p99Ms, double maxMs) {
        static Stats of(List<Long> nanos) {
            if (nanos.isEmpty()) {
                return new Stats(0, Double.NaN, Double.NaN, Double.NaN);
            }
            long[] a = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
            return new Stats(a.length, a[(int) Math.min(a.length - 1, Math.floor(a.length * 0.50))] / 1e6,
                    a[(int) Math.min(a.length - 1, Math.ceil(a.length * 0.99) - 1)] / 1e6, a[a.length - 1] / 1e6);
        }
    }

    static Keyring testKeyring() {
        byte[] key = new byte[Keyring.KEY_BYTES];
        new SplittableRandom(7).nextBytes(key);
        return Keyring.of(List.of(java.util.Base64.getEncoder().encodeToString(key)));
    }

    /** N nodes of one region, joined through the first; returns once all see all (or fails). */
    static List<SimNode> region(SimNetwork net, String region, int n, MembershipConfig config, Keyring keyring,
                                boolean load) {
        var nodes = new ArrayList<SimNode>();
        int[] seq = new int[n];
        for (int i = 0; i < n; i++) {
            int idx = i;
            List<SimNode> seeds = nodes.isEmpty() ? List.of() : List.of(nodes.getFirst());
            SimNode node = net.add(region + "-" + i, region, config, keyring, seeds, load ? () -> {
                seq[idx]++;
                return new LoadRecord("", 0, 0, seq[idx] % 5, seq[idx] % 3, 100f);
            } : null);
            nodes.add(node);
            net.runUntil(net.clock.nanos() + SimClock.ms(5));
        }
        awaitConverged(net, nodes, SimClock.s(120));
        return nodes;
    }

    static void awaitConverged(SimNetwork net, List<SimNode> nodes, long within) {
        long deadline = net.clock.nanos() + within;
        while (!converged(nodes)) {
            if (net.clock.nanos() > deadline) {
                throw net.violation("cluster of " + nodes.size() + " did not converge within "
                        + within / 1_000_000_000 + " s");
            }
            net.runUntil(net.clock.nanos() + SimClock.ms(500));
        }
    }

    static boolean converged(List<SimNode> nodes) {
        long live = nodes.stream().filter(n -> !n.crashed).count();
        for (SimNode n : nodes) {
            if (n.crashed) {
                continue;
            }
            long seen = n.protocol.members().values().stream().filter(Member::live).count();
            if (seen != live) {
                return false;
            }
        }
        return true;
    }

    /** Invariants checked after every event: self-view and incarnations. */
    static void installBasicInvariants(SimNetwork net) {
        net.invariant = node -> {
            long inc = node.protocol.incarnation();
            long before = node.checkedIncarnation;
            node.checkedIncarnation = inc;
            var members = node.protocol.members();
            var me = members.get(node.name);
            if (before >= 0 && inc < before && me != null && me.incarnation == inc && inc != 0) {
                throw net.violation(node.name + " incarnation went back from " + before + " to " + inc);
            }
            if (me == null || me.state != MemberState.ALIVE) {
                throw net.violation(node.name + " does not see itself alive");
            }
            if (members.size() > net.nodes.size()) {
                throw net.violation(node.name + " knows " + members.size() + " members of " + net.nodes.size());
            }
        };
    }

    /** Crash → dead on every region peer: the time each observer takes, over several crashes. */
    static Stats crashDetection(long seed, int n, int crashes, MembershipConfig config) {
        var net = new SimNetwork(seed);
        installBasicInvariants(net);
        List<SimNode> nodes = region(net, "r0", n, config, Keyring.plaintext(), false);
        net.runUntil(net.clock.nanos() + SimClock.s(10));
        var samples = new ArrayList<Long>();
        var rnd = new SplittableRandom(seed ^ 0x5eed);
        for (int c = 0; c < crashes; c++) {
            SimNode victim;
            do {
                victim = nodes.get(1 + rnd.nextInt(n - 1));
            } while (victim.crashed);
            long crashedAt = net.clock.nanos();
            net.crash(victim);
            String name = victim.name;
            Set<SimNode> pending = new HashSet<>();
            for (SimNode o : nodes) {
                if (!o.crashed) {
                    pending.add(o);
                }
            }
            net.observer = o -> {
                if (pending.contains(o)) {
                    var m = o.protocol.members().get(name);
                    if (m == null || !m.live()) {
                        pending.remove(o);
                        samples.add(net.clock.nanos() - crashedAt);
                    }
                }
            };
            long deadline = crashedAt + SimClock.s(60);
            while (!pending.isEmpty() && net.clock.nanos() < deadline) {
                net.runUntil(net.clock.nanos() + SimClock.ms(200));
            }
            if (!pending.isEmpty()) {
                throw net.violation(pending.size() + " nodes never saw " + name + " die");
            }
            net.observer = o -> { };
            net.runUntil(net.clock.nanos() + SimClock.s(5));
        }
        return Stats.of(samples);
    }

    /**
     * The WAN pool: {@code regions × bridges} nodes; one region's bridges all crash; per
     * surviving bridge, the time until it sees every one of them dead. Over {@code trials}.
     */
    static Stats regionLoss(long seed, int regions, int bridges, int trials) {
        var samples = new ArrayList<Long>();
        for (int t = 0; t < trials; t++) {
            var net = new SimNetwork(seed + t);
            net.crossRegionDelayNanos = SimClock.ms(35);
            installBasicInvariants(net);
            var all = new ArrayList<SimNode>();
            for (int r = 0; r < regions; r++) {
                for (int b = 0; b < bridges; b++) {
                    List<SimNode> seeds = all.isEmpty() ? List.of() : List.of(all.getFirst());
                    all.add(net.add("bridge-" + r + "-" + b, "r" + r, MembershipConfig.wan(), Keyring.plaintext(),
                            seeds, null));
                }
            }
            awaitConverged(net, all, SimClock.s(60));
            net.runUntil(net.clock.nanos() + SimClock.s(5));
            long at = net.clock.nanos();
            List<SimNode> lost = all.stream().filter(b -> b.region.equals("r" + (regions - 1))).toList();
            lost.forEach(net::crash);
            Set<SimNode> pending = new HashSet<>(all.stream().filter(b -> !b.crashed).toList());
            net.observer = o -> {
                if (pending.contains(o) && lost.stream().allMatch(v -> {
                    var m = o.protocol.members().get(v.name);
                    return m == null || !m.live();
                })) {
                    pending.remove(o);
                    samples.add(net.clock.nanos() - at);
                }
            };
            while (!pending.isEmpty() && net.clock.nanos() < at + SimClock.s(120)) {
                net.runUntil(net.clock.nanos() + SimClock.ms(200));
            }
            if (!pending.isEmpty()) {
                throw net.violation(pending.size() + " bridges never saw region r" + (regions - 1) + " lost");
            }
        }
        return Stats.of(samples);
    }

    /** What a long run under faults produced. */
    record FaultRun(int nodes, double simulatedSeconds, long falseDeaths, long starvedDeclaredDead,
                    long suspicions, long refutations, double bytesPerNodePerSecond, long events) {
    }

    /**
     * N nodes under uniform loss and, optionally, CPU starvation of a fraction of them.
     * Counts every time any node declares a healthy (not starved, not crashed) node dead —
     * the invariant the test asserts is zero — and the bytes each node sends per second.
     */
    static FaultRun underFaults(long seed, int n, double loss, double starvedFraction, long seconds,
                                MembershipConfig config, Keyring keyring) {
        return underFaults(seed, n, loss, starvedFraction, seconds, config, keyring, 0, r -> { });
    }

    /**
     * As above, and every {@code progressSeconds} of simulated time (0 = never) hands
     * {@code progress} the run so far, so a day-long run shows how far it got.
     */
    static FaultRun underFaults(long seed, int n, double loss, double starvedFraction, long seconds,
                                MembershipConfig config, Keyring keyring, long progressSeconds,
                                java.util.function.Consumer<FaultRun> progress) {
        var net = new SimNetwork(seed);
        installBasicInvariants(net);
        List<SimNode> nodes = region(net, "r0", n, config, keyring, false);
        Set<String> starved = new HashSet<>();
        var rnd = new SplittableRandom(seed ^ 0xc0ffee);
        int toStarve = (int) Math.round(n * starvedFraction);
        while (starved.size() < toStarve) {
            SimNode s = nodes.get(rnd.nextInt(n));
            if (starved.add(s.name)) {
                // Descheduled for 1.5 s out of every 3 s.
                net.starve(s, SimClock.ms(1500), SimClock.s(3));
            }
        }
        net.lossRate = loss;
        net.duplicateRate = loss > 0 ? 0.01 : 0;
        net.runUntil(net.clock.nanos() + SimClock.s(10));
        long[] falseDeaths = {0};
        long[] starvedDead = {0};
        var baseInvariant = net.invariant;
        net.invariant = node -> {
            baseInvariant.accept(node);
            double deaths = node.metrics.deaths.value();
            if (deaths != node.lastDeaths) {
                node.lastDeaths = deaths;
                for (var m : node.protocol.members().values()) {
                    if (m.state == MemberState.DEAD && m.stateSinceNanos == net.clock.nanos()) {
                        if (starved.contains(m.name)) {
                            starvedDead[0]++;
                        } else {
                            falseDeaths[0]++;
                        }
                    }
                }
            }
        };
        double sentBefore = nodes.stream().mapToDouble(x -> x.metrics.bytesSent.value()).sum();
        double susBefore = nodes.stream().mapToDouble(x -> x.metrics.suspicions.value()).sum();
        double refBefore = nodes.stream().mapToDouble(x -> x.metrics.refutations.value()).sum();
        long start = net.clock.nanos();
        long end = start + SimClock.s(seconds);
        long step = progressSeconds > 0 ? SimClock.s(progressSeconds) : end - start;
        while (net.clock.nanos() < end) {
            net.runUntil(Math.min(end, net.clock.nanos() + step));
            if (net.clock.nanos() < end) {
                progress.accept(faultRun(nodes, (net.clock.nanos() - start) / 1e9, falseDeaths[0], starvedDead[0],
                        susBefore, refBefore, sentBefore, net.eventsRun));
            }
        }
        return faultRun(nodes, seconds, falseDeaths[0], starvedDead[0], susBefore, refBefore, sentBefore,
                net.eventsRun);
    }

    private static FaultRun faultRun(List<SimNode> nodes, double seconds, long falseDeaths, long starvedDead,
                                     double susBefore, double refBefore, double sentBefore, long events) {
        int n = nodes.size();
        double sent = nodes.stream().mapToDouble(x -> x.metrics.bytesSent.value()).sum() - sentBefore;
        return new FaultRun(n, seconds, falseDeaths, starvedDead,
                (long) (nodes.stream().mapToDouble(x -> x.metrics.suspicions.value()).sum() - susBefore),
                (long) (nodes.stream().mapToDouble(x -> x.metrics.refutations.value()).sum() - refBefore),
                sent / n / seconds, events);
    }

    /**
     * What a region's nodes send, with or without the load channel and prefix-cache news.
     *
     * @param bytesPerNodePerSecond what each node sends (gossip, probes, push-pull, load)
     * @param namesKnownShare       of the held names each node announced in the last 10 s
     *                              of the run, and still holds, the share its region peers
     *                              know (1 when none were announced)
     */
    record Traffic(double bytesPerNodePerSecond, double namesKnownShare) {
    }

    /**
     * One region of {@code n} nodes for {@code seconds} after convergence, under {@code loss}:
     * the bytes each node sends, with the load channel ({@code load}) and, when
     * {@code heldPerSecond} is above 0, each node's engines announcing that many newly held
     * block names and {@code droppedPerSecond} evicted ones a second (Poisson), as a busy
     * chat host's would.
     */
    static Traffic loadChannelTraffic(long seed, int n, long seconds, double loss, Keyring keyring, boolean load,
                                      double heldPerSecond, double droppedPerSecond) {
        var net = new SimNetwork(seed);
        installBasicInvariants(net);
        var announced = new HashMap<String, java.util.ArrayDeque<long[]>>(); // node -> (name, at nanos)
        var names = new SplittableRandom(seed ^ 0xcace);
        if (heldPerSecond > 0) {
            net.cacheSources = node -> new PrefixCaches.Source() {
                final java.util.ArrayDeque<long[]> mine = announced.computeIfAbsent(node.name,
                        k -> new java.util.ArrayDeque<>());
                long last = net.clock.nanos();

                @Override
                public long epoch() {
                    return 1 + node.index;
                }

                @Override
                public void drain(java.util.function.LongConsumer held, java.util.function.LongConsumer dropped) {
                    long now = net.clock.nanos();
                    double dt = (now - last) / 1e9;
                    last = now;
                    for (int i = poisson(names, heldPerSecond * dt); i > 0; i--) {
                        long name = names.nextLong();
                        mine.addLast(new long[] {name, now});
                        held.accept(name);
                    }
                    for (int i = poisson(names, droppedPerSecond * dt); i > 0 && mine.size() > 1; i--) {
                        dropped.accept(mine.pollFirst()[0]);
                    }
                }
            };
        }
        List<SimNode> nodes = region(net, "r0", n, MembershipConfig.lan(), keyring, load);
        net.lossRate = loss;
        net.runUntil(net.clock.nanos() + SimClock.s(10));
        double sentBefore = nodes.stream().mapToDouble(x -> x.metrics.bytesSent.value()).sum();
        net.runUntil(net.clock.nanos() + SimClock.s(seconds));
        double sent = nodes.stream().mapToDouble(x -> x.metrics.bytesSent.value()).sum() - sentBefore;
        long known = 0;
        long asked = 0;
        long recent = net.clock.nanos() - SimClock.s(10);
        long settled = net.clock.nanos() - SimClock.s(2); // sent in the next record, within 250 ms
        for (SimNode node : nodes) {
            var mine = announced.get(node.name);
            if (mine == null) {
                continue;
            }
            for (long[] a : mine) {
                if (a[1] < recent || a[1] > settled) {
                    continue;
                }
                for (SimNode other : nodes) {
                    if (other != node) {
                        asked++;
                        known += other.caches.holds(node.name, a[0]) ? 1 : 0;
                    }
                }
            }
        }
        return new Traffic(sent / n / seconds, asked == 0 ? 1 : (double) known / asked);
    }

    private static int poisson(SplittableRandom random, double mean) {
        int k = 0;
        double p = Math.exp(-mean);
        double cumulative = p;
        double u = random.nextDouble();
        while (u > cumulative) {
            k++;
            p *= mean / k;
            cumulative += p;
        }
        return k;
    }

    /**
     * A member changes its metadata; the time until each other member holds the new
     * version. {@code updates} different members, one after another.
     */
    static Stats metadataConvergence(long seed, int n, int updates, MembershipConfig config, boolean wanPool) {
        var net = new SimNetwork(seed);
        installBasicInvariants(net);
        List<SimNode> nodes;
        if (wanPool) {
            net.crossRegionDelayNanos = SimClock.ms(35);
            nodes = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                List<SimNode> seeds = nodes.isEmpty() ? List.of() : List.of(nodes.getFirst());
                nodes.add(net.add("bridge-" + i, "r" + (i % 3), config, Keyring.plaintext(), seeds, null));
            }
            awaitConverged(net, nodes, SimClock.s(60));
        } else {
            nodes = region(net, "r0", n, config, Keyring.plaintext(), false);
        }
        net.runUntil(net.clock.nanos() + SimClock.s(10));
        var samples = new ArrayList<Long>();
        var rnd = new SplittableRandom(seed ^ 0xabc);
        for (int u = 0; u < updates; u++) {
            SimNode who = nodes.get(rnd.nextInt(n));
            long at = net.clock.nanos();
            var next = new NodeMetadata(who.region, "10.0.0.1", 8400, "az1", "", "", "DRAINING",
                    List.of(new NodeMetadata.Model("m", String.valueOf(u + 2))), 8, "sim");
            who.protocol.updateMetadata(next, at);
            long target = who.protocol.incarnation();
            Set<SimNode> pending = new HashSet<>(nodes);
            pending.remove(who);
            net.observer = o -> {
                if (pending.contains(o)) {
                    var m = o.protocol.members().get(who.name);
                    if (m != null && m.incarnation >= target) {
                        pending.remove(o);
                        samples.add(net.clock.nanos() - at);
                    }
                }
            };
            while (!pending.isEmpty() && net.clock.nanos() < at + SimClock.s(60)) {
                net.runUntil(net.clock.nanos() + SimClock.ms(50));
            }
            if (!pending.isEmpty()) {
                throw net.violation(pending.size() + " members never saw the metadata of " + who.name);
            }
            net.observer = o -> { };
            net.runUntil(net.clock.nanos() + SimClock.s(3));
        }
        return Stats.of(samples);
    }

    /**
     * Splits a region in two for {@code seconds}, then heals the network; returns how long
     * after the heal every node saw every other alive again.
     */
    static long partitionHeal(long seed, int n, long seconds) {
        var net = new SimNetwork(seed);
        installBasicInvariants(net);
        List<SimNode> nodes = region(net, "r0", n, MembershipConfig.lan(), Keyring.plaintext(), false);
        net.partition = new int[n];
        for (int i = 0; i < n; i++) {
            net.partition[i] = i % 2;
        }
        net.runUntil(net.clock.nanos() + SimClock.s(seconds));
        for (SimNode node : nodes) {
            long seen = node.protocol.members().values().stream().filter(Member::live).count();
            if (seen != n / 2) {
                throw net.violation(node.name + " sees " + seen + " live members during the partition, expected "
                        + n / 2);
            }
        }
        net.partition = null;
        long healed = net.clock.nanos();
        awaitConverged(net, nodes, SimClock.s(180));
        return net.clock.nanos() - healed;
    }

    /**
     * Crashes a member, waits until every peer holds it dead, restarts it as a fresh
     * process (incarnation 0) and returns how long until every peer sees it alive again;
     * the rejoined member's incarnation must be above the one it died with.
     */
    static long crashAndRejoin(long seed, int n) {
        return crashAndRejoin(seed, n, 0);
    }

    /**
     * {@link #crashAndRejoin(long, int)}, the victim having first raised its incarnation by
     * {@code raise} through metadata changes, each batch gossiped before the next: a member
     * that did so for long dies at an incarnation a restart cannot reach by one gossiped jump.
     */
    static long crashAndRejoin(long seed, int n, long raise) {
        var net = new SimNetwork(seed);
        installBasicInvariants(net);
        List<SimNode> nodes = region(net, "r0", n, MembershipConfig.lan(), Keyring.plaintext(), false);
        SimNode victim = nodes.get(n - 1);
        NodeMetadata meta = victim.protocol.members().get(victim.name).metadata;
        long step = SwimProtocol.MAX_INCARNATION_JUMP / 2;
        for (long raised = 0; raised < raise; ) {
            long target = victim.protocol.incarnation() + Math.min(step, raise - raised);
            while (victim.protocol.incarnation() < target) {
                String state = victim.protocol.incarnation() % 2 == 0 ? "DRAINING" : "READY";
                victim.protocol.updateMetadata(new NodeMetadata(meta.region(), meta.dataAddress(), meta.dataPort(),
                        meta.availabilityZone(), meta.subnet(), meta.vpc(), state, meta.models(), meta.capacity(),
                        meta.softwareVersion()), net.clock.nanos());
            }
            raised += Math.min(step, raise - raised);
            awaitIncarnation(net, nodes, victim, target, SimClock.s(30));
        }
        net.crash(victim);
        long deadline = net.clock.nanos() + SimClock.s(60);
        while (!nodes.stream().filter(o -> o != victim).allMatch(o -> !o.protocol.members().get(victim.name).live())) {
            if (net.clock.nanos() > deadline) {
                throw net.violation("the crash of " + victim.name + " was not seen everywhere");
            }
            net.runUntil(net.clock.nanos() + SimClock.ms(200));
        }
        long diedAt = nodes.getFirst().protocol.members().get(victim.name).incarnation;
        long restartedAt = net.clock.nanos();
        net.restart(victim, MembershipConfig.lan(), Keyring.plaintext(), List.of(nodes.getFirst()));
        awaitConverged(net, nodes, SimClock.s(60));
        for (SimNode o : nodes) {
            long inc = o.protocol.members().get(victim.name).incarnation;
            if (inc <= diedAt) {
                throw net.violation(o.name + " sees the rejoined " + victim.name + " at incarnation " + inc
                        + ", not above " + diedAt);
            }
        }
        return net.clock.nanos() - restartedAt;
    }

    /** Runs until every node holds {@code victim} at {@code incarnation} or above. */
    private static void awaitIncarnation(SimNetwork net, List<SimNode> nodes, SimNode victim, long incarnation,
                                         long within) {
        long deadline = net.clock.nanos() + within;
        while (!nodes.stream().allMatch(o -> o.protocol.members().get(victim.name).incarnation >= incarnation)) {
            if (net.clock.nanos() > deadline) {
                throw net.violation("incarnation " + incarnation + " of " + victim.name + " did not reach everyone");
            }
            net.runUntil(net.clock.nanos() + SimClock.ms(200));
        }
    }

    /**
     * {@code regions} regions of {@code n} nodes each with the WAN pool on and
     * {@code bridges} bridges per region, every node joined through its region's first and
     * the WAN pool seeded with the first node of r0 (a bridge: the lowest id). Returns the
     * nodes per region once every region's pool has converged and every node holds a
     * summary of every region counting all its nodes.
     */
    static List<List<SimNode>> federation(SimNetwork net, int regions, int n, int bridges) {
        net.crossRegionDelayNanos = SimClock.ms(35);
        var byRegion = new ArrayList<List<SimNode>>();
        for (int r = 0; r < regions; r++) {
            byRegion.add(new ArrayList<>());
        }
        for (int i = 0; i < n; i++) {
            for (int r = 0; r < regions; r++) {
                List<SimNode> nodes = byRegion.get(r);
                List<SimNode> seeds = nodes.isEmpty() ? List.of() : List.of(nodes.getFirst());
                List<SimNode> wanSeeds = byRegion.getFirst().isEmpty() ? List.of()
                        : List.of(byRegion.getFirst().getFirst());
                nodes.add(net.addFederated("r" + r + "-" + i, "r" + r, MembershipConfig.lan(), Keyring.plaintext(),
                        seeds, wanSeeds, bridges));
            }
            net.runUntil(net.clock.nanos() + SimClock.ms(5));
        }
        for (List<SimNode> region : byRegion) {
            awaitConverged(net, region, SimClock.s(120));
        }
        long deadline = net.clock.nanos() + SimClock.s(60);
        while (!federated(byRegion)) {
            if (net.clock.nanos() > deadline) {
                throw net.violation("the federation of " + regions + " regions of " + n
                        + " did not give every node every region's summary within 60 s");
            }
            net.runUntil(net.clock.nanos() + SimClock.ms(500));
        }
        return byRegion;
    }

    private static boolean federated(List<List<SimNode>> byRegion) {
        for (List<SimNode> region : byRegion) {
            for (SimNode node : region) {
                for (List<SimNode> other : byRegion) {
                    var s = node.federation.summary(other.getFirst().region);
                    if (s == null || s.summary().healthyHosts() != other.size()) {
                        return false;
                    }
                }
            }
        }
        return true;
    }

    /**
     * A member of a random region changes its capacity; per node of every other region, the
     * time until the summary it holds of that region shows the new total. {@code updates}
     * changes, one after another.
     */
    static Stats summaryConvergence(long seed, int regions, int n, int bridges, int updates) {
        var net = new SimNetwork(seed);
        installBasicInvariants(net);
        List<List<SimNode>> byRegion = federation(net, regions, n, bridges);
        net.runUntil(net.clock.nanos() + SimClock.s(3));
        var capacity = new java.util.HashMap<String, Integer>();
        var samples = new ArrayList<Long>();
        var rnd = new SplittableRandom(seed ^ 0x5a11);
        for (int u = 0; u < updates; u++) {
            // At a random point of the second, since summaries are made once a second.
            net.runUntil(net.clock.nanos() + SimClock.ms(rnd.nextInt(1000)));
            int r = rnd.nextInt(regions);
            List<SimNode> region = byRegion.get(r);
            SimNode who = region.get(rnd.nextInt(n));
            long at = net.clock.nanos();
            int next = 9 + u;   // rises with every change, so every total is new
            who.machine.updateMetadata(new NodeMetadata(who.region, who.address.getAddress().getHostAddress(), 8400,
                    "az1", "", "", "READY", List.of(new NodeMetadata.Model("m", "1")), next, "sim"), at);
            capacity.put(who.name, next);
            int total = region.stream().mapToInt(x -> capacity.getOrDefault(x.name, 8)).sum();
            Set<SimNode> pending = new HashSet<>();
            byRegion.stream().filter(o -> o != region).forEach(pending::addAll);
            net.observer = o -> {
                if (pending.contains(o)) {
                    var held = o.federation.summary(who.region);
                    if (held != null && held.summary().capacity() == total) {
                        pending.remove(o);
                        samples.add(net.clock.nanos() - at);
                    }
                }
            };
            while (!pending.isEmpty() && net.clock.nanos() < at + SimClock.s(60)) {
                net.runUntil(net.clock.nanos() + SimClock.ms(50));
            }
            if (!pending.isEmpty()) {
                throw net.violation(pending.size() + " nodes of other regions never saw region " + who.region
                        + " at capacity " + total);
            }
            net.observer = o -> { };
            net.runUntil(net.clock.nanos() + SimClock.s(2));
        }
        return Stats.of(samples);
    }

    /** How long a region went without a bridge, over several bridge deaths. */
    record Failover(Stats elected, Stats relaying) {
    }

    /**
     * One of a region's bridges crashes; the time until the member with the next id is
     * elected in its place (it holds a WAN pool protocol), and until it relays a summary of
     * every other region to its share of the region. {@code trials} crashes, one region
     * after another, each once the last has settled.
     */
    static Failover bridgeFailover(long seed, int regions, int n, int bridges, int trials) {
        var net = new SimNetwork(seed);
        installBasicInvariants(net);
        List<List<SimNode>> byRegion = federation(net, regions, n, bridges);
        net.runUntil(net.clock.nanos() + SimClock.s(3));
        var elected = new ArrayList<Long>();
        var relaying = new ArrayList<Long>();
        var rnd = new SplittableRandom(seed ^ 0xb41d);
        for (int t = 0; t < trials; t++) {
            List<SimNode> live = byRegion.get(t % regions).stream().filter(x -> !x.crashed)
                    .sorted(java.util.Comparator.comparing((SimNode x) -> x.name)).toList();
            if (live.size() <= bridges) {
                throw new IllegalArgumentException("region " + live.getFirst().region + " has " + live.size()
                        + " live nodes left, too few for another bridge to take over from one of " + bridges);
            }
            SimNode victim = live.get(rnd.nextInt(bridges));
            SimNode successor = live.get(bridges);
            long at = net.clock.nanos();
            net.crash(victim);
            long[] times = {-1, -1};
            net.observer = o -> {
                if (o != successor) {
                    return;
                }
                if (times[0] < 0 && o.machine.bridge()) {
                    times[0] = net.clock.nanos() - at;
                }
                if (times[0] >= 0 && o.federation.regionsRelayed() == regions - 1) {
                    times[1] = net.clock.nanos() - at;
                }
            };
            while (times[1] < 0 && net.clock.nanos() < at + SimClock.s(60)) {
                net.runUntil(net.clock.nanos() + SimClock.ms(50));
            }
            if (times[1] < 0) {
                throw net.violation(successor.name + " did not take over from the crashed bridge " + victim.name
                        + " within 60 s (elected after " + times[0] / 1_000_000 + " ms)");
            }
            elected.add(times[0]);
            relaying.add(times[1]);
            net.observer = o -> { };
            net.runUntil(net.clock.nanos() + SimClock.s(5));
        }
        return new Failover(Stats.of(elected), Stats.of(relaying));
    }

    /** Ages of the newest load record, sampled at random (observer, peer) pairs every 10 ms. */
    static Stats loadStaleness(long seed, int n, double loss, long seconds) {
        var net = new SimNetwork(seed);
        installBasicInvariants(net);
        List<SimNode> nodes = region(net, "r0", n, MembershipConfig.lan(), Keyring.plaintext(), true);
        net.lossRate = loss;
        net.runUntil(net.clock.nanos() + SimClock.s(2));
        var samples = new ArrayList<Long>();
        var rnd = new SplittableRandom(seed ^ 0x10ad);
        long end = net.clock.nanos() + SimClock.s(seconds);
        while (net.clock.nanos() < end) {
            net.runUntil(net.clock.nanos() + SimClock.ms(10));
            SimNode o = nodes.get(rnd.nextInt(n));
            SimNode p = nodes.get(rnd.nextInt(n));
            if (o == p) {
                continue;
            }
            var m = o.protocol.members().get(p.name);
            if (m == null || m.load == null) {
                throw net.violation(o.name + " has no load record of " + p.name);
            }
            samples.add(net.clock.nanos() - m.loadReceivedNanos);
        }
        return Stats.of(samples);
    }

    /** What a cluster-wide key rotation did. */
    record Rotation(long suspicions, long undecryptable, long membersWithOnlyTheNewKey, int members) {
    }

    /**
     * Rotates the gossip key of a whole region from one member: install the new key, use
     * it, remove the old, each gossiped as a cluster key operation, {@code stepSeconds}
     * apart. Counts the suspicions raised and the packets that did not decrypt meanwhile.
     */
    static Rotation clusterKeyRotation(long seed, int n, double loss, long stepSeconds) {
        var net = new SimNetwork(seed);
        installBasicInvariants(net);
        Keyring old = testKeyring();
        List<SimNode> nodes = region(net, "r0", n, MembershipConfig.lan(), old, false);
        net.lossRate = loss;
        net.runUntil(net.clock.nanos() + SimClock.s(5));
        double susBefore = nodes.stream().mapToDouble(x -> x.metrics.suspicions.value()).sum();
        double dropsBefore = nodes.stream().mapToDouble(x -> x.metrics.packetsDropped.value("decrypt")).sum();
        String oldKey = old.keys().getFirst();
        String newKey = Keyring.generateKey(new SplittableRandom(seed ^ 0x6b6579));
        SimNode origin = nodes.get(new SplittableRandom(seed).nextInt(n));
        origin.protocol.clusterKeyOp(Message.KeyOp.Operation.INSTALL, newKey);
        net.runUntil(net.clock.nanos() + SimClock.s(stepSeconds));
        origin.protocol.clusterKeyOp(Message.KeyOp.Operation.USE, newKey);
        net.runUntil(net.clock.nanos() + SimClock.s(stepSeconds));
        origin.protocol.clusterKeyOp(Message.KeyOp.Operation.REMOVE, oldKey);
        net.runUntil(net.clock.nanos() + SimClock.s(stepSeconds));
        long rotated = nodes.stream().filter(x -> x.protocol.keyring().keys().equals(List.of(newKey))).count();
        return new Rotation(
                (long) (nodes.stream().mapToDouble(x -> x.metrics.suspicions.value()).sum() - susBefore),
                (long) (nodes.stream().mapToDouble(x -> x.metrics.packetsDropped.value("decrypt")).sum()
                        - dropsBefore), rotated, n);
    }
}
