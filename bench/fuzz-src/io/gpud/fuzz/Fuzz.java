package io.gpud.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.membership.GossipCases;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Fuzzes a real gpud daemon over its HTTP data plane and its gossip port; see bench/README.md.
 *
 * <p>Per key mode (without a keyring, under {@code gossip.insecure: true}; with one), it
 * starts a target node and a witness node that joins it, both {@code -Xmx256m}, then sends
 * the mutated HTTP requests (first mode only: the data plane does not depend on the key)
 * and the mutated gossip packets to the target, watching for crashes (the process exits),
 * hangs (a request or a liveness probe unanswered within the deadline), 5xx answers other
 * than 503 with Retry-After, answers after a {@code Connection: close}, a cluster that
 * does not settle back (the witness alive and READY in the target's view and the target in
 * the witness's, no negative incarnation), and RSS above a bound.
 */
public final class Fuzz {

    private static final int PROBE_TIMEOUT_MS = 5000;

    private final Map<String, String> opt;
    private final Path repo;
    private final long seed;
    private final Findings findings;
    private final List<String> summary = new ArrayList<>();
    private long inputs;

    private Fuzz(Map<String, String> opt) throws IOException {
        this.opt = opt;
        this.repo = Path.of(opt.get("repo")).toAbsolutePath();
        this.seed = Long.parseLong(opt.get("seed"));
        this.findings = new Findings(Path.of(opt.get("findings")).toAbsolutePath());
    }

    public static void main(String[] args) throws Exception {
        var opt = new TreeMap<String, String>(Map.of("http", "2000", "gossip", "2000", "seed", "1", "target", "all",
                "key", "auto", "workers", "4", "timeout-ms", "10000", "rss-limit-mib", "512",
                "findings", "target/fuzz-findings.txt", "base-port", "18400"));
        opt.put("repo", ".");
        opt.put("gossip-rate", "2000");
        opt.put("from", "0");
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length || !opt.containsKey(args[i].substring(2))
                    && !args[i].equals("--only")) {
                System.err.println("fuzz: unknown or incomplete option " + args[i] + "; options: " + opt.keySet()
                        + " and --only INDEX");
                System.exit(2);
            }
            opt.put(args[i].substring(2), args[++i]);
        }
        var fuzz = new Fuzz(opt);
        int code;
        try {
            code = fuzz.run();
        } catch (IOException e) {
            System.err.println("fuzz: " + e.getMessage());
            code = 2;
        }
        System.exit(code);
    }

    private int run() throws Exception {
        String target = opt.get("target");
        boolean http = target.equals("all") || target.equals("http");
        boolean gossip = target.equals("all") || target.equals("gossip");
        List<Boolean> keyModes = switch (opt.get("key")) {
            case "off" -> List.of(false);
            case "on" -> List.of(true);
            case "both" -> List.of(false, true);
            default -> gossip ? List.of(false, true) : List.of(false);
        };
        Path work = Files.createTempDirectory("gpud-fuzz");
        int base = Integer.parseInt(opt.get("base-port"));
        int code = 0;
        try {
            for (boolean keyed : keyModes) {
                runMode(work.resolve(keyed ? "keyed" : "plain"), base, keyed, http && keyed == keyModes.getFirst(),
                        gossip);
            }
        } catch (IOException e) {
            System.err.println("fuzz: stopped: " + e.getMessage());
            code = 2;
        }
        System.out.println();
        summary.forEach(System.out::println);
        int total = findings.total();
        if (total == 0 && code == 0) {
            try (var files = Files.walk(work)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        } else {
            System.out.println("daemon logs and configs: " + work);
        }
        System.out.printf("findings by class: %s%n", findings.counts().isEmpty() ? "none" : findings.counts());
        System.out.printf("findings/inputs: %d/%d = %.5f (target 0)%n", total, inputs,
                inputs == 0 ? 0.0 : (double) total / inputs);
        if (total > 0) {
            System.out.println("first findings of each class, replayable: " + findings.file());
        }
        return code != 0 ? code : total == 0 ? 0 : 1;
    }

    private void runMode(Path dir, int base, boolean keyed, boolean http, boolean gossip) throws Exception {
        String mode = keyed ? "keyed" : "no key";
        Path keyring = null;
        List<String> keys = List.of();
        if (keyed) {
            keys = List.of(GossipCases.key(new SplittableRandom(seed)));
            keyring = dir.resolve("gossip.keyring");
            Files.createDirectories(dir);
            Files.writeString(keyring, keys.getFirst() + "\n");
        }
        System.out.printf("[%s] starting the target and the witness%n", mode);
        try (Daemon a = Daemon.start(repo, dir.resolve("target"), "fz-target", base, base + 2, keyring, null);
             Daemon b = Daemon.start(repo, dir.resolve("witness"), "fz-witness", base + 10, base + 12, keyring,
                     "127.0.0.1:" + (base + 2))) {
            if (!settled(a, b, 90)) {
                throw new IOException("the witness never joined the target:\n" + a.logTail(20));
            }
            var stop = new AtomicBoolean();
            Thread monitor = Thread.ofPlatform().daemon().start(() -> monitor(a, b, stop, mode));
            long logBefore = a.logLines();
            long rssStart = a.lastRssKiB();
            if (http) {
                fuzzHttp(a, mode);
            }
            if (gossip && a.alive()) {
                fuzzGossip(a, b, keys, mode, keyed);
            }
            stop.set(true);
            monitor.join();
            if (a.alive() && !settled(a, b, 60)) {
                findings.add("cluster did not settle (" + mode + ")", "bench/fuzz --key " + (keyed ? "on" : "off")
                        + " --seed " + seed, "after all inputs", null, "target's view: " + a.status(PROBE_TIMEOUT_MS)
                        + "\nwitness's view: " + b.status(PROBE_TIMEOUT_MS));
            }
            if (a.maxRssKiB() > Long.parseLong(opt.get("rss-limit-mib")) * 1024) {
                findings.add("rss over the limit (" + mode + ")", "bench/fuzz --seed " + seed, "the whole run", null,
                        "max VmRSS " + a.maxRssKiB() / 1024 + " MiB");
            }
            summary.add(String.format("[%s] target RSS MiB: start %d, max %d, end %d (limit %s); witness max %d;"
                            + " target log lines written: %d", mode, rssStart / 1024, a.maxRssKiB() / 1024,
                    a.lastRssKiB() / 1024, opt.get("rss-limit-mib"), b.maxRssKiB() / 1024, a.logLines() - logBefore));
        }
    }

    /** The first input's index: {@code --only}, else {@code --from}. */
    private long first() {
        return Long.parseLong(opt.getOrDefault("only", opt.get("from")));
    }

    /** How many inputs of a kind to send: one with {@code --only}. */
    private long count(String kind) {
        return opt.containsKey("only") ? 1 : Long.parseLong(opt.get(kind));
    }

    // ------------------------------------------------------------------ HTTP

    private void fuzzHttp(Daemon a, String mode) throws InterruptedException {
        var cases = new HttpCases(seed);
        int timeout = Integer.parseInt(opt.get("timeout-ms"));
        long first = first();
        long n = first + count("http");
        var outcomes = new EnumMap<HttpExchange.Outcome, LongAdder>(HttpExchange.Outcome.class);
        for (var o : HttpExchange.Outcome.values()) {
            outcomes.put(o, new LongAdder());
        }
        var statuses = new ConcurrentHashMap<Integer, LongAdder>();
        var slowest = new ConcurrentHashMap<Long, Long>();
        var next = new AtomicLong(first);
        long end = n;
        long start = System.nanoTime();
        var crashed = new AtomicBoolean();
        var workers = new ArrayList<Thread>();
        for (int w = 0; w < Integer.parseInt(opt.get("workers")); w++) {
            workers.add(Thread.ofPlatform().start(() -> {
                for (long i = next.getAndIncrement(); i < end && !crashed.get(); i = next.getAndIncrement()) {
                    HttpCases.Case c = cases.make(i);
                    long t0 = System.nanoTime();
                    var r = HttpExchange.send(c.metrics() ? a.metricsPort : a.dataPort, c.bytes(), timeout);
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    if (ms > 1000) {
                        slowest.put(i, ms);
                    }
                    outcomes.get(r.outcome()).increment();
                    statuses.computeIfAbsent(r.status(), s -> new LongAdder()).increment();
                    String replay = "bench/fuzz --target http --seed " + seed + " --only " + i;
                    if (opt.containsKey("only")) {
                        System.out.println("request: " + Mutations.escape(c.bytes(), 4096));
                        System.out.println("what: " + c.what());
                        System.out.println("outcome: " + r.outcome() + " " + r.detail());
                        System.out.println("answer: " + Mutations.escape(r.answer(), 2048));
                    }
                    if (r.outcome().finding()) {
                        findings.add("http " + r.outcome() + (r.status() > 0 ? " " + r.status() : ""), replay,
                                c.what(), c.bytes(), r.detail() + " | " + Mutations.escape(r.answer(), 600));
                    }
                    if (!a.alive() && crashed.compareAndSet(false, true)) {
                        findings.add("crash (" + mode + ")", replay, c.what(), c.bytes(),
                                "exit " + a.exitValue() + "\n" + a.logTail(40));
                    }
                    if (i > 0 && i % Math.max(1, end / 10) == 0) {
                        System.out.printf("[%s] http %d/%d, %.0f s, findings so far %d%n", mode, i, end,
                                (System.nanoTime() - start) / 1e9, findings.total());
                    }
                }
            }));
        }
        for (Thread t : workers) {
            t.join();
        }
        long sent = outcomes.values().stream().mapToLong(LongAdder::sum).sum();
        inputs += sent;
        var byStatus = new TreeMap<Integer, Long>();
        statuses.forEach((s, c) -> byStatus.put(s, c.sum()));
        var byOutcome = new EnumMap<HttpExchange.Outcome, Long>(HttpExchange.Outcome.class);
        outcomes.forEach((o, c) -> byOutcome.put(o, c.sum()));
        summary.add(String.format("[%s] http: %d requests in %.0f s (seed %d): %s", mode, sent,
                (System.nanoTime() - start) / 1e9, seed, byOutcome));
        summary.add(String.format("[%s] http status codes (0 = none): %s", mode, byStatus));
        summary.add(String.format("[%s] http requests over 1 s: %d%s", mode, slowest.size(), slowest.isEmpty() ? ""
                : ", the slowest (index=ms): " + slowest.entrySet().stream()
                        .sorted(Map.Entry.<Long, Long>comparingByValue().reversed()).limit(5).toList()));
    }

    // ------------------------------------------------------------------ gossip

    private void fuzzGossip(Daemon a, Daemon b, List<String> keys, String mode, boolean keyed) throws Exception {
        long first = first();
        long n = first + count("gossip");
        int rate = Integer.parseInt(opt.get("gossip-rate"));
        var loopback = InetAddress.getLoopbackAddress();
        var targetAddress = new InetSocketAddress(loopback, a.gossipPort);
        Map<String, Long> droppedBefore = dropped(a);
        long udp = 0;
        long tcp = 0;
        long tcpRefused = 0;
        long witnessLost = 0;
        int maxMembers = 0;
        long start = System.nanoTime();
        try (var listener = new ServerSocket(0, 50, loopback);
             var socket = new DatagramSocket(new InetSocketAddress(loopback, listener.getLocalPort()))) {
            var replyBytes = new AtomicLong();
            Thread.ofPlatform().daemon().start(() -> drainUdp(socket, replyBytes));
            Thread.ofPlatform().daemon().start(() -> drainTcp(listener, replyBytes));
            var cases = new GossipCases(seed, a.nodeId, targetAddress, b.nodeId,
                    new InetSocketAddress(loopback, b.gossipPort),
                    new InetSocketAddress(loopback, socket.getLocalPort()), keys);
            long sentBytes = 0;
            long checkedAt = first;
            for (long i = first; i < n; i++) {
                GossipCases.Case c = cases.make(i);
                sentBytes += c.bytes().length;
                if (c.tcp()) {
                    tcp++;
                    if (!sendFrame(targetAddress, c.bytes())) {
                        tcpRefused++;
                    }
                } else {
                    udp++;
                    socket.send(new DatagramPacket(c.bytes(), c.bytes().length, targetAddress));
                }
                if (opt.containsKey("only")) {
                    System.out.println("packet: " + (c.tcp() ? "tcp " : "udp ") + Mutations.escape(c.bytes(), 4096));
                    System.out.println("what: " + c.what());
                }
                long due = start + (long) ((i - first + 1) * 1e9 / rate);
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
                boolean last = i == n - 1;
                if ((i + 1) % 1000 != 0 && !last) {
                    continue;
                }
                String replay = "bench/fuzz --target gossip --key " + (keyed ? "on" : "off") + " --seed " + seed
                        + " --from " + checkedAt + " --gossip " + (i + 1 - checkedAt) + "  (the last: --only " + i + ")";
                String range = "packets " + checkedAt + ".." + i + ", the last shown";
                checkedAt = i + 1;
                if (!a.alive()) {
                    findings.add("crash (" + mode + ")", replay, range + "; the last: " + c.what(), c.bytes(),
                            "exit " + a.exitValue() + "\n" + a.logTail(40));
                    break;
                }
                JsonNode status = a.status(PROBE_TIMEOUT_MS);
                if (status == null) {
                    findings.add("gossip: admin status unanswered (" + mode + ")", replay, range, c.bytes(),
                            "no status in " + PROBE_TIMEOUT_MS + " ms");
                    continue;
                }
                maxMembers = Math.max(maxMembers, status.path("members").size());
                JsonNode w = Daemon.member(status, b.nodeId);
                if (w == null || !w.path("state").asText().equals("alive")) {
                    witnessLost++;
                }
                for (JsonNode m : status.path("members")) {
                    if (m.path("incarnation").asLong() < 0) {
                        findings.add("gossip: negative incarnation (" + mode + ")", replay, range, c.bytes(),
                                m.toString());
                    }
                }
                if ((i + 1) % Math.max(1000, n / 10) == 0) {
                    System.out.printf("[%s] gossip %d/%d, %.0f s, findings so far %d%n", mode, i + 1, n,
                            (System.nanoTime() - start) / 1e9, findings.total());
                }
            }
            if (tcpRefused > 0) {
                findings.add("gossip: tcp connect refused (" + mode + ")", "bench/fuzz --target gossip --seed " + seed,
                        tcpRefused + " of " + tcp + " frames", null, "the gossip TCP listener did not accept");
            }
            inputs += udp + tcp;
            summary.add(String.format("[%s] gossip: %d udp packets + %d tcp frames in %.0f s (seed %d); %d bytes"
                            + " sent, %d bytes came back to the sender; witness not alive at %d of the checks;"
                            + " members at most %d", mode, udp, tcp, (System.nanoTime() - start) / 1e9, seed,
                    sentBytes, replyBytes.get(), witnessLost, maxMembers));
        }
        Map<String, Long> droppedAfter = dropped(a);
        var diff = new TreeMap<String, Long>();
        droppedAfter.forEach((k, v) -> diff.put(k, v - droppedBefore.getOrDefault(k, 0L)));
        summary.add(String.format("[%s] gossip packets the target dropped, by reason: %s", mode, diff));
    }

    /** Writes one frame on a fresh connection and closes it; false when the connection was refused. */
    private static boolean sendFrame(InetSocketAddress to, byte[] frame) {
        try (var s = new Socket()) {
            s.connect(to, 2000);
            OutputStream out = s.getOutputStream();
            out.write(frame);
            s.shutdownOutput();
            return true;
        } catch (java.net.ConnectException e) {
            return false;
        } catch (IOException closedEarly) {
            return true;
        }
    }

    private static void drainUdp(DatagramSocket socket, AtomicLong bytes) {
        var p = new DatagramPacket(new byte[65536], 65536);
        while (!socket.isClosed()) {
            try {
                socket.receive(p);
                bytes.addAndGet(p.getLength());
            } catch (IOException closed) {
                return;
            }
        }
    }

    private static void drainTcp(ServerSocket listener, AtomicLong bytes) {
        while (!listener.isClosed()) {
            try (Socket s = listener.accept()) {
                s.setSoTimeout(2000);
                InputStream in = s.getInputStream();
                bytes.addAndGet(in.readNBytes(8 * 1024 * 1024).length);
            } catch (IOException closedOrSlow) {
                if (listener.isClosed()) {
                    return;
                }
            }
        }
    }

    /** The target's dropped-packet counters by reason, from its metrics. */
    private static Map<String, Long> dropped(Daemon a) {
        var out = new TreeMap<String, Long>();
        for (String line : a.get("/metrics", PROBE_TIMEOUT_MS).split("\n")) {
            if (line.contains("dropped_packets_total{") && !line.startsWith("#")) {
                var m = java.util.regex.Pattern.compile("reason=\"([^\"]*)\".*\\}\\s+([0-9.eE+]+)").matcher(line);
                if (m.find()) {
                    out.merge(m.group(1), (long) Double.parseDouble(m.group(2)), Long::sum);
                }
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ watching

    /** RSS twice a second, a liveness probe every two seconds, until {@code stop}. */
    private void monitor(Daemon a, Daemon b, AtomicBoolean stop, String mode) {
        long probes = 0;
        while (!stop.get() && a.alive()) {
            a.sampleRss();
            b.sampleRss();
            if (probes++ % 4 == 0) {
                String r = a.get("/health/live", PROBE_TIMEOUT_MS);
                if (!r.startsWith("HTTP/1.1 200") && a.alive()) {
                    findings.add("liveness probe failed (" + mode + ")", "bench/fuzz --seed " + seed,
                            "GET /health/live during the run", null, Mutations.escape(r));
                }
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Waits up to {@code seconds} for both nodes READY and alive in each other's view, no negative incarnation. */
    private static boolean settled(Daemon a, Daemon b, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < deadline && a.alive() && b.alive()) {
            if (a.get("/health/ready", PROBE_TIMEOUT_MS).startsWith("HTTP/1.1 200")
                    && a.sees(b.nodeId, PROBE_TIMEOUT_MS) && b.sees(a.nodeId, PROBE_TIMEOUT_MS)
                    && nonNegative(a.status(PROBE_TIMEOUT_MS)) && nonNegative(b.status(PROBE_TIMEOUT_MS))) {
                return true;
            }
            Thread.sleep(500);
        }
        return false;
    }

    private static boolean nonNegative(JsonNode status) {
        if (status == null) {
            return false;
        }
        for (JsonNode m : status.path("members")) {
            if (m.path("incarnation").asLong() < 0) {
                return false;
            }
        }
        return true;
    }
}
