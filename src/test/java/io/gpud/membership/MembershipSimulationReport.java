package io.gpud.membership;

import io.gpud.config.MembershipConfig;
import java.util.Locale;

/**
 * The SPEC section 4 membership targets at full size, in the simulator, as a table of
 * measured values and their ratio to the target (below 1.00 meets it). Run by
 * {@code bench/membership-sim}; {@code --hours H} sets the simulated length of the loss
 * run (24 for the full day), {@code --seed S} the seed (the same seed replays the same run),
 * {@code --loss-only} runs just the loss run, {@code --federation-only} just the WAN
 * federation rows (region summaries and bridge failover at 3 regions of
 * {@code --region-nodes N}, 200 by default) and {@code --load-channel-only} just the load
 * channel's traffic per node in a region of {@code --region-nodes N}, with and without
 * prefix-cache news.
 */
public final class MembershipSimulationReport {

    private MembershipSimulationReport() {
    }

    public static void main(String[] args) {
        double hours = 1;
        long seed = 1;
        int lossNodes = 600;
        boolean lossOnly = false;
        boolean federationOnly = false;
        boolean loadOnly = false;
        int regionNodes = 200;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--hours" -> hours = Double.parseDouble(args[++i]);
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--loss-nodes" -> lossNodes = Integer.parseInt(args[++i]);
                case "--loss-only" -> lossOnly = true;
                case "--federation-only" -> federationOnly = true;
                case "--load-channel-only" -> loadOnly = true;
                case "--region-nodes" -> regionNodes = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; known: --hours H, --seed S, --loss-nodes N, --loss-only, --federation-only, "
                        + "--load-channel-only, --region-nodes N");
            }
        }
        System.out.printf(Locale.ROOT, "membership simulation, seed %d (LAN profile in region, WAN profile across)%n%n",
                seed);
        System.out.printf(Locale.ROOT, "%-58s %14s %12s %8s %8s%n", "scenario", "measured", "target", "ratio",
                "wall s");
        if (lossOnly) {
            lossRun(seed, lossNodes, hours);
            return;
        }
        if (federationOnly) {
            federation(seed, regionNodes);
            return;
        }
        if (loadOnly) {
            loadChannel(seed, regionNodes);
            return;
        }
        long t = System.nanoTime();
        var crash = MembershipScenarios.crashDetection(seed, 200, 10, MembershipConfig.lan());
        row("crash -> dead on every region peer, N=200, p50 (ms)", crash.p50Ms(), 6_000, t);
        row("crash -> dead on every region peer, N=200, p99 (ms)", crash.p99Ms(), 10_000, t);
        t = System.nanoTime();
        var region = MembershipScenarios.regionLoss(seed, 3, 3, 20);
        row("region lost, seen by every WAN bridge (3x3, 20 runs), p99 (ms)", region.p99Ms(), 20_000, t);
        t = System.nanoTime();
        var meta = MembershipScenarios.metadataConvergence(seed, 200, 20, MembershipConfig.lan(), false);
        row("metadata converged in region, N=200, p99 (ms)", meta.p99Ms(), 2_500, t);
        t = System.nanoTime();
        var wanMeta = MembershipScenarios.metadataConvergence(seed, 9, 20, MembershipConfig.wan(), true);
        row("metadata converged in the WAN pool (9 bridges), p99 (ms)", wanMeta.p99Ms(), 5_000 - meta.p99Ms(), t);
        row("  global = region p99 + WAN p99 (composed, ms)", meta.p99Ms() + wanMeta.p99Ms(), 5_000, t);
        federation(seed, regionNodes);
        t = System.nanoTime();
        var load = MembershipScenarios.loadStaleness(seed, 200, 0.01, 30);
        row("load record staleness, N=200, 1% loss, p99 (ms)", load.p99Ms(), 500, t);
        t = System.nanoTime();
        var starved = MembershipScenarios.underFaults(seed, 200, 0.01, 0.05, 1800, MembershipConfig.lan(),
                Keyring.plaintext());
        row("5% CPU-starved, N=200, 30 min: healthy declared dead", starved.falseDeaths(), 0, t);
        System.out.printf(Locale.ROOT, "  (starved nodes declared dead %d times, suspicions %d, refutations %d)%n",
                starved.starvedDeclaredDead(), starved.suspicions(), starved.refutations());
        t = System.nanoTime();
        var steady = MembershipScenarios.underFaults(seed, lossNodes, 0.0, 0, 300, MembershipConfig.lan(),
                Keyring.plaintext());
        row(String.format(Locale.ROOT, "membership traffic per node, N=%d, steady, no loss, 5 min (kbit/s)",
                lossNodes), steady.bytesPerNodePerSecond() * 8 / 1000, 50, t);
        lossRun(seed, lossNodes, hours);
        loadChannel(seed, regionNodes);
    }

    /**
     * What the load channel costs each node of a region of {@code n} (at N=600 in 3 regions,
     * each node sends load records to its 199 region peers), AES-GCM sealed as in production:
     * gossip alone, with load records, and with prefix-cache news at a busy chat host's rate
     * (3 newly held and 1.5 evicted block names a second, each name sent once, 6 bytes).
     * The SPEC budget of 50 kbit/s is for membership traffic; the load channel is SPEC's
     * separate fast path (64 B x 4/s to every region peer) and is shown against it too.
     */
    private static void loadChannel(long seed, int n) {
        Keyring keys = MembershipScenarios.testKeyring();
        long t = System.nanoTime();
        var gossip = MembershipScenarios.loadChannelTraffic(seed, n, 60, 0, keys, false, 0, 0);
        row(String.format(Locale.ROOT, "membership only, region of %d, sealed (kbit/s)", n),
                gossip.bytesPerNodePerSecond() * 8 / 1000, 50, t);
        t = System.nanoTime();
        var load = MembershipScenarios.loadChannelTraffic(seed, n, 60, 0, keys, true, 0, 0);
        row("  + load channel, no cache news (kbit/s)", load.bytesPerNodePerSecond() * 8 / 1000, 50, t);
        t = System.nanoTime();
        var cached = MembershipScenarios.loadChannelTraffic(seed, n, 60, 0, keys, true, 3, 1.5);
        row("  + load channel with cache news 3+1.5 names/s (kbit/s)", cached.bytesPerNodePerSecond() * 8 / 1000, 50,
                t);
        System.out.printf(Locale.ROOT, "  (load channel alone %.1f kbit/s before, %.1f after: cache news add %.1f;"
                        + " peers knew %.4f of recent names)%n",
                (load.bytesPerNodePerSecond() - gossip.bytesPerNodePerSecond()) * 8 / 1000,
                (cached.bytesPerNodePerSecond() - gossip.bytesPerNodePerSecond()) * 8 / 1000,
                (cached.bytesPerNodePerSecond() - load.bytesPerNodePerSecond()) * 8 / 1000,
                cached.namesKnownShare());
    }

    /**
     * The WAN federation run whole, every node with the WAN pool on: 3 regions of N nodes,
     * 3 bridges each (the default). A region's summary change reaching every node of the
     * other regions (against the 5 s global metadata target), and a bridge's death until
     * its successor is elected (against the 10 s crash detection target: succession waits
     * for the death to be seen) and relaying (against the 60 s failover budget).
     */
    private static void federation(long seed, int n) {
        long t = System.nanoTime();
        var summary = MembershipScenarios.summaryConvergence(seed, 3, n, 3, 10);
        row(String.format(Locale.ROOT, "region summary change -> every other region, 3x%d, p99 (ms)", n),
                summary.p99Ms(), 5_000, t);
        System.out.printf(Locale.ROOT, "  (%d samples over 10 changes, p50 %.1f ms, max %.1f ms)%n", summary.count(),
                summary.p50Ms(), summary.maxMs());
        t = System.nanoTime();
        var failover = MembershipScenarios.bridgeFailover(seed, 3, n, 3, 6);
        row(String.format(Locale.ROOT, "bridge dies -> successor elected, 3x%d, 6 deaths, max (ms)", n),
                failover.elected().maxMs(), 10_000, t);
        row(String.format(Locale.ROOT, "bridge dies -> successor relaying, 3x%d, 6 deaths, max (ms)", n),
                failover.relaying().maxMs(), 60_000, t);
        System.out.printf(Locale.ROOT, "  (elected p50 %.1f ms; relaying p50 %.1f ms)%n", failover.elected().p50Ms(),
                failover.relaying().p50Ms());
    }

    /**
     * The day under 10% loss: a progress line every simulated hour (so a run cut short
     * still says how far it got with no false death), then the rows.
     */
    private static void lossRun(long seed, int lossNodes, double hours) {
        long t = System.nanoTime();
        long wallStart = t;
        var loss = MembershipScenarios.underFaults(seed, lossNodes, 0.10, 0, (long) (hours * 3600),
                MembershipConfig.lan(), Keyring.plaintext(), 3600, p -> System.out.printf(Locale.ROOT,
                        "  progress: %.1f simulated h, healthy declared dead %d, suspicions %d, refutations %d, "
                                + "%.1f kbit/s per node, wall %.0f s%n", p.simulatedSeconds() / 3600,
                        p.falseDeaths(), p.suspicions(), p.refutations(), p.bytesPerNodePerSecond() * 8 / 1000,
                        (System.nanoTime() - wallStart) / 1e9));
        row(String.format(Locale.ROOT, "10%% loss, N=%d, %.1f h: healthy declared dead", lossNodes, hours),
                loss.falseDeaths(), 0, t);
        System.out.printf(Locale.ROOT, "  (suspicions %d, refutations %d, %d events)%n", loss.suspicions(),
                loss.refutations(), loss.events());
        row(String.format(Locale.ROOT, "membership traffic per node, N=%d, 10%% loss (kbit/s)", lossNodes),
                loss.bytesPerNodePerSecond() * 8 / 1000, 50, t);
    }

    private static void row(String name, double measured, double target, long startNanos) {
        String ratio = target == 0 ? (measured == 0 ? "ok" : "FAIL") : String.format(Locale.ROOT, "%.2f",
                measured / target);
        System.out.printf(Locale.ROOT, "%-58s %14.1f %12.1f %8s %8.1f%n", name, measured, target, ratio,
                (System.nanoTime() - startNanos) / 1e9);
    }
}
