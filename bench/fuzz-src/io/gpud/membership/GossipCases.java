package io.gpud.membership;

import io.gpud.fuzz.Mutations;
import io.gpud.membership.Message.Ack;
import io.gpud.membership.Message.Alive;
import io.gpud.membership.Message.Compound;
import io.gpud.membership.Message.Coordinate;
import io.gpud.membership.Message.Dead;
import io.gpud.membership.Message.IndirectPing;
import io.gpud.membership.Message.KeyOp;
import io.gpud.membership.Message.Load;
import io.gpud.membership.Message.MemberEntry;
import io.gpud.membership.Message.Nack;
import io.gpud.membership.Message.Ping;
import io.gpud.membership.Message.PushPull;
import io.gpud.membership.Message.Summary;
import io.gpud.membership.Message.Suspect;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Mutated gossip packets (UDP) and push-pull frames (TCP), each a pure function of (seed,
 * index). It lives in the membership package to build valid messages with the daemon's own
 * {@link Codec} and seal them with its own {@link Keyring}: a mutation made before sealing
 * reaches the decoder of a keyed daemon (the packet authenticates), one made after sealing
 * reaches only the decryption. Fields are drawn from the values that break arithmetic and
 * bounds (incarnations 0, 2^62, 2^63-1, negative; sequence numbers at the ends of int) before
 * the bytes are mutated.
 *
 * <p>Cluster key operations are sent only as install and remove of keys nobody uses, and
 * never mutated: an authenticated {@code use} of a fresh key is a legitimate order to
 * partition the cluster, which no liveness check could then tell from a defect.
 */
public final class GossipCases {

    /** One packet or frame to send, and what was done to it. */
    public record Case(long index, boolean tcp, byte[] bytes, String what) {
    }

    private static final long[] INCARNATIONS = {0, 1, 2, 7, 1L << 31, 1L << 32, 1L << 62, Long.MAX_VALUE - 1,
        Long.MAX_VALUE, -1, Long.MIN_VALUE};
    private static final int[] SEQS = {0, 1, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, 42};

    private final long seed;
    private final String target;
    private final String witness;
    private final InetSocketAddress targetAddress;
    private final InetSocketAddress witnessAddress;
    private final InetSocketAddress fuzzerAddress;
    /** The daemon's keyring (plaintext for a daemon without one) and a key it does not hold. */
    private final Keyring keyring;
    private final Keyring stranger;

    /**
     * @param keys the daemon's gossip keys, base64; empty for a daemon without a keyring
     */
    public GossipCases(long seed, String target, InetSocketAddress targetAddress, String witness,
                       InetSocketAddress witnessAddress, InetSocketAddress fuzzerAddress, List<String> keys) {
        this.seed = seed;
        this.target = target;
        this.witness = witness;
        this.targetAddress = targetAddress;
        this.witnessAddress = witnessAddress;
        this.fuzzerAddress = fuzzerAddress;
        this.keyring = keys.isEmpty() ? Keyring.plaintext() : Keyring.of(keys);
        this.stranger = Keyring.of(List.of(key(new SplittableRandom(~seed))));
    }

    /** A base64 AES-256 key from {@code rnd}. */
    public static String key(SplittableRandom rnd) {
        return Base64.getEncoder().encodeToString(Mutations.randomBytes(rnd, Keyring.KEY_BYTES));
    }

    public Case make(long index) {
        var rnd = new SplittableRandom(seed * 0xD1B54A32D192ED03L + index);
        var what = new ArrayList<String>();
        boolean tcp = rnd.nextInt(10) == 0;
        Message m = tcp ? streamMessage(rnd) : packetMessage(rnd);
        what.add(describe(m));
        byte[] plain = Codec.encode(m);
        boolean keyOp = m instanceof KeyOp || (m instanceof Message.Compound c
                && c.parts().stream().anyMatch(p -> p instanceof KeyOp));
        int ops = keyOp ? 0 : rnd.nextInt(5) == 0 ? 0 : 1 + rnd.nextInt(3);
        byte[] payload = envelope(plain, ops, rnd, what);
        if (!tcp) {
            return new Case(index, false, payload, String.join(", ", what));
        }
        return new Case(index, true, frame(payload, rnd, what), String.join(", ", what));
    }

    /** The plaintext mutated then sealed, or sealed then mutated, or wrapped wrongly. */
    private byte[] envelope(byte[] plain, int ops, SplittableRandom rnd, List<String> what) {
        var nonces = new java.util.Random(rnd.nextLong());
        int k = rnd.nextInt(20);
        if (k < 14) {
            return keyring.seal(Mutations.bytes(plain, rnd, ops, what), nonces);
        }
        if (k < 17) {
            what.add("mutated after sealing");
            return Mutations.bytes(keyring.seal(plain, nonces), rnd, 1 + rnd.nextInt(3), what);
        }
        if (k == 17) {
            what.add("sealed under a key the daemon does not hold");
            return stranger.seal(plain, nonces);
        }
        if (k == 18) {
            what.add("plaintext envelope");
            return Keyring.plaintext().seal(Mutations.bytes(plain, rnd, ops, what), nonces);
        }
        what.add("random bytes");
        return Mutations.randomBytes(rnd, rnd.nextInt(rnd.nextBoolean() ? 32 : 1500));
    }

    /** A length-prefixed frame, its length sometimes a lie. */
    private static byte[] frame(byte[] payload, SplittableRandom rnd, List<String> what) {
        int len = payload.length;
        if (rnd.nextInt(4) == 0) {
            len = switch (rnd.nextInt(7)) {
                case 0 -> len + 1 + rnd.nextInt(100);
                case 1 -> Math.max(0, len - 1 - rnd.nextInt(Math.max(1, len)));
                case 2 -> 0;
                case 3 -> -1;
                case 4 -> MembershipAgent.MAX_STREAM_BYTES + 1;
                case 5 -> MembershipAgent.MAX_STREAM_BYTES - 1;
                default -> Integer.MAX_VALUE;
            };
            what.add("frame length " + len + " for " + payload.length + " bytes");
        }
        byte[] out = ByteBuffer.allocate(4 + payload.length).putInt(len).put(payload).array();
        if (rnd.nextInt(10) == 0) {
            int cut = rnd.nextInt(4);
            what.add("frame head cut to " + cut);
            return java.util.Arrays.copyOf(out, cut);
        }
        return out;
    }

    private Message packetMessage(SplittableRandom rnd) {
        int k = rnd.nextInt(100);
        if (k < 12) {
            return new Compound(parts(rnd));
        }
        return single(rnd, k);
    }

    private List<Message> parts(SplittableRandom rnd) {
        var parts = new ArrayList<Message>();
        int n = 2 + rnd.nextInt(5);
        for (int i = 0; i < n; i++) {
            parts.add(single(rnd, 12 + rnd.nextInt(88)));
        }
        return parts;
    }

    private Message single(SplittableRandom rnd, int k) {
        if (k < 24) {
            return new Ping(seq(rnd), rnd.nextInt(4) == 0 ? witness : target, someone(rnd), fuzzerAddress);
        }
        if (k < 32) {
            return new IndirectPing(seq(rnd), rnd.nextBoolean() ? witness : someone(rnd),
                    rnd.nextBoolean() ? witnessAddress : fuzzerAddress, rnd.nextBoolean(), someone(rnd), fuzzerAddress);
        }
        if (k < 37) {
            return new Ack(seq(rnd));
        }
        if (k < 40) {
            return new Nack(seq(rnd));
        }
        if (k < 54) {
            String node = who(rnd);
            return new Alive(incarnation(rnd), node, addressOf(node), metadata(rnd));
        }
        if (k < 64) {
            return new Suspect(incarnation(rnd), who(rnd), someone(rnd));
        }
        if (k < 74) {
            String node = who(rnd);
            return new Dead(incarnation(rnd), node, rnd.nextInt(4) == 0 ? node : someone(rnd));
        }
        if (k < 82) {
            var load = new LoadRecord(who(rnd), incarnation(rnd), rnd.nextLong(), rnd.nextInt(1 << 20),
                    rnd.nextInt(1 << 20), rnd.nextBoolean() ? Float.MAX_VALUE : rnd.nextFloat() * 1000);
            return new Load(rnd.nextBoolean() ? load : withCacheNews(load, rnd));
        }
        if (k < 88) {
            double[] v = new double[NetworkCoordinate.DIMENSIONS];
            for (int i = 0; i < v.length; i++) {
                v[i] = rnd.nextBoolean() ? rnd.nextDouble() : (rnd.nextBoolean() ? 1e6 : -1e6);
            }
            return new Coordinate(who(rnd), new NetworkCoordinate(v, rnd.nextBoolean() ? 0 : 1e6,
                    rnd.nextDouble() * 2, rnd.nextBoolean() ? 0 : -1e6));
        }
        if (k < 94) {
            var hosts = List.of(new RegionSummary.Host(who(rnd), "127.0.0.1:" + rnd.nextInt(65536),
                    rnd.nextInt(100), rnd.nextInt(100), rnd.nextInt(100)));
            return new Summary("fz-region-" + rnd.nextInt(3), someone(rnd), fuzzerAddress, incarnation(rnd) & Long.MAX_VALUE,
                    rnd.nextInt(100), rnd.nextInt(1000), List.of(new RegionSummary.ModelHosts("gpud-demo", hosts)));
        }
        if (k < 97) {
            return streamMessage(rnd);
        }
        var op = rnd.nextBoolean() ? KeyOp.Operation.INSTALL : KeyOp.Operation.REMOVE;
        String key = rnd.nextInt(4) == 0 ? "not a key" : key(rnd);
        return new KeyOp(rnd.nextLong() & Long.MAX_VALUE, op, key);
    }

    /** What push-pull carries: a table of members, the target's and witness's among them, or a stream ping. */
    private Message streamMessage(SplittableRandom rnd) {
        if (rnd.nextInt(8) == 0) {
            return new Ping(seq(rnd), target, someone(rnd), fuzzerAddress);
        }
        var members = new ArrayList<MemberEntry>();
        int n = rnd.nextInt(8);
        MemberState[] states = MemberState.values();
        for (int i = 0; i < n; i++) {
            String node = who(rnd);
            members.add(new MemberEntry(node, addressOf(node), incarnation(rnd), states[rnd.nextInt(states.length)],
                    metadata(rnd)));
        }
        return new PushPull(rnd.nextBoolean(), rnd.nextInt(4) == 0, someone(rnd), fuzzerAddress, members);
    }

    /** The node a message is about: mostly fakes, sometimes the target or the witness. */
    private String who(SplittableRandom rnd) {
        int k = rnd.nextInt(10);
        return k < 2 ? target : k < 3 ? witness : someone(rnd);
    }

    private static String someone(SplittableRandom rnd) {
        return "fz-fake-" + rnd.nextInt(16);
    }

    private InetSocketAddress addressOf(String node) {
        return node.equals(target) ? targetAddress : node.equals(witness) ? witnessAddress : fuzzerAddress;
    }

    private static long incarnation(SplittableRandom rnd) {
        return rnd.nextBoolean() ? rnd.nextLong(1000) : INCARNATIONS[rnd.nextInt(INCARNATIONS.length)];
    }

    private static int seq(SplittableRandom rnd) {
        return rnd.nextBoolean() ? rnd.nextInt() : SEQS[rnd.nextInt(SEQS.length)];
    }

    private static byte[] metadata(SplittableRandom rnd) {
        var states = new String[] {"READY", "DRAINING", "STARTING", "", "\u0000"};
        return new NodeMetadata("local", "127.0.0.1", rnd.nextInt(65536), "", "", "",
                states[rnd.nextInt(states.length)], List.of(new NodeMetadata.Model("gpud-demo", "file")),
                rnd.nextInt(), "0.1.0").encode();
    }

    private static String describe(Message m) {
        if (m instanceof Compound c) {
            return "compound of " + c.parts().stream().map(GossipCases::describe).toList();
        }
        String s = m.toString();
        s = s.replaceAll("metadata=\\[B@[0-9a-f]+", "metadata");
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }

    /**
     * {@code load} with prefix-cache news: up to the bound of 48-bit names of each kind, or
     * the empty cache's epoch alone (the decoder must refuse what mutation makes of them).
     */
    private static LoadRecord withCacheNews(LoadRecord load, SplittableRandom rnd) {
        if (rnd.nextInt(8) == 0) {
            return load.withCache(LoadRecord.EMPTY_CACHE, new long[0], new long[0]);
        }
        long epoch = rnd.nextLong();
        return load.withCache(epoch == LoadRecord.NO_CACHE || epoch == LoadRecord.EMPTY_CACHE ? 1 : epoch,
                rnd.longs(rnd.nextInt(LoadRecord.MAX_CACHE_NAMES + 1)).toArray(),
                rnd.longs(rnd.nextInt(LoadRecord.MAX_CACHE_NAMES + 1)).toArray());
    }
}
