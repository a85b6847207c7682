package io.gpud.membership;

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
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The plaintext wire format: one type byte, then the fields big-endian. Strings are at
 * most 255 bytes, metadata at most {@link #MAX_METADATA_BYTES}, a compound at most
 * {@link #MAX_PARTS} parts and a push-pull at most {@link #MAX_MEMBERS} members, so a
 * decoded message never holds more memory than a small multiple of its packet.
 */
final class Codec {

    static final int MAX_METADATA_BYTES = 16 * 1024;
    static final int MAX_PARTS = 64;
    static final int MAX_MEMBERS = 4096;

    private static final int PING = 1;
    private static final int INDIRECT_PING = 2;
    private static final int ACK = 3;
    private static final int NACK = 4;
    private static final int ALIVE = 5;
    private static final int SUSPECT = 6;
    private static final int DEAD = 7;
    private static final int LOAD = 8;
    private static final int PUSH_PULL = 9;
    private static final int COMPOUND = 10;
    private static final int SUMMARY = 11;
    private static final int KEY_OP = 12;
    private static final int COORDINATE = 13;

    private Codec() {
    }

    static byte[] encode(Message m) {
        var out = new WireWriter(capacityFor(m));
        write(out, m);
        return out.toArray();
    }

    /**
     * A compound of messages already encoded, byte for byte what {@link #encode} makes of a
     * {@link Compound} of them.
     */
    static byte[] encodeCompound(List<byte[]> parts) {
        if (parts.size() > MAX_PARTS) {
            throw new IllegalArgumentException("compound of " + parts.size() + " parts, more than " + MAX_PARTS);
        }
        int bytes = 2;
        for (byte[] part : parts) {
            bytes += 2 + part.length;
        }
        var out = new WireWriter(bytes);
        out.u8(COMPOUND).u8(parts.size());
        for (byte[] part : parts) {
            out.blob(part);
        }
        return out.toArray();
    }

    /**
     * A first buffer size that a push-pull table (tens of kilobytes at a few hundred members)
     * fits without growing through every power of two; small messages start at 64 bytes.
     */
    private static int capacityFor(Message m) {
        if (!(m instanceof PushPull p)) {
            return 64;
        }
        int bytes = 64;
        for (MemberEntry e : p.members()) {
            bytes += 48 + e.metadata().length;
        }
        return bytes;
    }

    /** Size of a message on the wire, for packing gossip into a packet. */
    static int size(Message m) {
        var out = new WireWriter(64);
        write(out, m);
        return out.length();
    }

    private static void write(WireWriter out, Message m) {
        switch (m) {
            case Ping p -> out.u8(PING).i32(p.seq()).string(p.target()).string(p.source()).address(p.sourceAddress());
            case IndirectPing p -> out.u8(INDIRECT_PING).i32(p.seq()).string(p.target()).address(p.targetAddress())
                    .u8(p.wantNack() ? 1 : 0).string(p.source()).address(p.sourceAddress());
            case Ack a -> out.u8(ACK).i32(a.seq());
            case Nack n -> out.u8(NACK).i32(n.seq());
            case Alive a -> out.u8(ALIVE).i64(a.incarnation()).string(a.node()).address(a.address()).blob(a.metadata());
            case Suspect s -> out.u8(SUSPECT).i64(s.incarnation()).string(s.node()).string(s.from());
            case Dead d -> out.u8(DEAD).i64(d.incarnation()).string(d.node()).string(d.from());
            case Load l -> {
                LoadRecord r = l.record();
                out.u8(LOAD).string(r.node()).i64(r.sequence()).i64(r.sentAtMillis()).i32(r.queueDepth())
                        .i32(r.inFlight()).i32(Float.floatToRawIntBits(r.tokensPerSecond()));
                if (r.hasCache()) {
                    out.i64(r.cacheEpoch());
                    names(out, r.held());
                    names(out, r.dropped());
                }
            }
            case Coordinate c -> {
                out.u8(COORDINATE).string(c.node());
                NetworkCoordinate nc = c.coordinate();
                for (int i = 0; i < NetworkCoordinate.DIMENSIONS; i++) {
                    out.i64(Double.doubleToRawLongBits(nc.component(i)));
                }
                out.i64(Double.doubleToRawLongBits(nc.height())).i64(Double.doubleToRawLongBits(nc.error()))
                        .i64(Double.doubleToRawLongBits(nc.adjustment()));
            }
            case PushPull p -> {
                out.u8(PUSH_PULL).u8((p.join() ? 1 : 0) | (p.reply() ? 2 : 0)).string(p.source())
                        .address(p.sourceAddress()).u16(p.members().size());
                for (MemberEntry e : p.members()) {
                    out.string(e.node()).address(e.address()).i64(e.incarnation()).u8(e.state().ordinal())
                            .blob(e.metadata());
                }
            }
            case Summary r -> {
                out.u8(SUMMARY).string(r.region()).string(r.bridge()).address(r.bridgeWan()).i64(r.sequence())
                        .i32(r.healthyHosts()).i32(r.capacity()).u8(r.models().size());
                for (RegionSummary.ModelHosts mh : r.models()) {
                    out.string(mh.model()).u8(mh.hosts().size());
                    for (RegionSummary.Host h : mh.hosts()) {
                        out.string(h.nodeId()).string(h.dataAddress()).i32(h.queueDepth()).i32(h.inFlight())
                                .i32(h.capacity());
                    }
                }
            }
            case KeyOp k -> out.u8(KEY_OP).i64(k.id()).u8(k.op().ordinal()).string(k.key());
            case Compound c -> {
                out.u8(COMPOUND).u8(c.parts().size());
                for (Message part : c.parts()) {
                    byte[] b = encode(part);
                    out.blob(b);
                }
            }
        }
    }

    /** Decodes one message; anything malformed is a {@link WireFormatException}. */
    static Message decode(byte[] bytes) {
        var in = new WireReader(ByteBuffer.wrap(bytes));
        Message m = read(in, true);
        in.end();
        return m;
    }

    private static Message read(WireReader in, boolean compoundAllowed) {
        int type = in.u8();
        return switch (type) {
            case PING -> new Ping(in.i32(), node(in), node(in), in.address());
            case INDIRECT_PING -> new IndirectPing(in.i32(), node(in), in.address(), in.bool(), node(in), in.address());
            case ACK -> new Ack(in.i32());
            case NACK -> new Nack(in.i32());
            case ALIVE -> new Alive(incarnation(in), node(in), in.address(), in.blob(MAX_METADATA_BYTES));
            case SUSPECT -> new Suspect(incarnation(in), node(in), node(in));
            case DEAD -> new Dead(incarnation(in), node(in), node(in));
            case LOAD -> readLoad(in);
            case COORDINATE -> readCoordinate(in);
            case PUSH_PULL -> readPushPull(in);
            case SUMMARY -> readSummary(in);
            case KEY_OP -> {
                long id = in.i64();
                int op = in.u8();
                if (op >= KeyOp.Operation.values().length) {
                    throw new WireFormatException("key operation " + op);
                }
                yield new KeyOp(id, KeyOp.Operation.values()[op], in.string());
            }
            case COMPOUND -> {
                if (!compoundAllowed) {
                    throw new WireFormatException("compound inside a compound");
                }
                int n = in.u8();
                if (n > MAX_PARTS) {
                    throw new WireFormatException("compound of " + n + " parts, more than " + MAX_PARTS);
                }
                var parts = new ArrayList<Message>(n);
                for (int i = 0; i < n; i++) {
                    var partIn = in.part(in.u16());
                    parts.add(read(partIn, false));
                    partIn.end();
                }
                yield new Compound(parts);
            }
            default -> throw new WireFormatException("unknown message type " + type);
        };
    }

    private static void names(WireWriter out, long[] names) {
        out.u8(names.length);
        for (long name : names) {
            out.u48(name);
        }
    }

    /**
     * A load record; its cache news, when it has any, follow the load figures (a record
     * without them is byte for byte what nodes sent before prefix caching). The name counts
     * are checked before anything is allocated for them.
     */
    private static Load readLoad(WireReader in) {
        String node = node(in);
        long sequence = in.i64();
        long sentAt = in.i64();
        int queue = nonNegative(in.i32(), "queue depth");
        int inFlight = nonNegative(in.i32(), "in-flight");
        float tokensPerSecond = Float.intBitsToFloat(in.i32());
        if (in.remaining() == 0) {
            return new Load(new LoadRecord(node, sequence, sentAt, queue, inFlight, tokensPerSecond));
        }
        long epoch = in.i64();
        if (epoch == LoadRecord.NO_CACHE) {
            throw new WireFormatException("cache news with cache epoch 0");
        }
        long[] held = names(in, "held");
        long[] dropped = names(in, "dropped");
        if (epoch == LoadRecord.EMPTY_CACHE && (held.length > 0 || dropped.length > 0)) {
            throw new WireFormatException("cache names with the empty cache's epoch");
        }
        return new Load(new LoadRecord(node, sequence, sentAt, queue, inFlight, tokensPerSecond, epoch, held,
                dropped));
    }

    private static long[] names(WireReader in, String what) {
        int n = in.u8();
        if (n > LoadRecord.MAX_CACHE_NAMES) {
            throw new WireFormatException(n + " " + what + " cache names, more than " + LoadRecord.MAX_CACHE_NAMES);
        }
        if (in.remaining() < 6 * n) {
            throw new WireFormatException(n + " " + what + " cache names in " + in.remaining() + " bytes");
        }
        long[] names = new long[n];
        for (int i = 0; i < n; i++) {
            names[i] = in.u48();
        }
        return names;
    }

    private static Coordinate readCoordinate(WireReader in) {
        String node = node(in);
        double[] v = new double[NetworkCoordinate.DIMENSIONS];
        for (int i = 0; i < v.length; i++) {
            v[i] = Double.longBitsToDouble(in.i64());
        }
        double height = Double.longBitsToDouble(in.i64());
        double error = Double.longBitsToDouble(in.i64());
        double adjustment = Double.longBitsToDouble(in.i64());
        try {
            return new Coordinate(node, new NetworkCoordinate(v, height, error, adjustment));
        } catch (IllegalArgumentException e) {
            throw new WireFormatException(e.getMessage());
        }
    }

    private static PushPull readPushPull(WireReader in) {
        int flags = in.u8();
        if (flags > 3) {
            throw new WireFormatException("push-pull flags were " + flags);
        }
        String source = node(in);
        var sourceAddress = in.address();
        int n = in.u16();
        if (n > MAX_MEMBERS) {
            throw new WireFormatException("push-pull of " + n + " members, more than " + MAX_MEMBERS);
        }
        var members = new ArrayList<MemberEntry>(Math.min(n, 256));
        MemberState[] states = MemberState.values();
        for (int i = 0; i < n; i++) {
            String node = node(in);
            var address = in.address();
            long incarnation = incarnation(in);
            int state = in.u8();
            if (state >= states.length) {
                throw new WireFormatException("member state " + state);
            }
            members.add(new MemberEntry(node, address, incarnation, states[state], in.blob(MAX_METADATA_BYTES)));
        }
        return new PushPull((flags & 1) != 0, (flags & 2) != 0, source, sourceAddress, List.copyOf(members));
    }

    private static Summary readSummary(WireReader in) {
        String region = in.string();
        String bridge = node(in);
        var bridgeWan = in.address();
        long sequence = nonNegative(in.i64(), "summary sequence");
        int healthy = nonNegative(in.i32(), "healthy hosts");
        int capacity = nonNegative(in.i32(), "capacity");
        int n = in.u8();
        if (n > RegionSummary.MAX_MODELS) {
            throw new WireFormatException("summary of " + n + " models, more than " + RegionSummary.MAX_MODELS);
        }
        var models = new ArrayList<RegionSummary.ModelHosts>(n);
        for (int i = 0; i < n; i++) {
            String model = in.string();
            int h = in.u8();
            if (h > RegionSummary.MAX_HOSTS_PER_MODEL) {
                throw new WireFormatException("summary of " + h + " hosts for a model, more than "
                        + RegionSummary.MAX_HOSTS_PER_MODEL);
            }
            var hosts = new ArrayList<RegionSummary.Host>(h);
            for (int j = 0; j < h; j++) {
                hosts.add(new RegionSummary.Host(node(in), in.string(), nonNegative(in.i32(), "queue depth"),
                        nonNegative(in.i32(), "in-flight"), nonNegative(in.i32(), "capacity")));
            }
            models.add(new RegionSummary.ModelHosts(model, hosts));
        }
        return new Summary(region, bridge, bridgeWan, sequence, healthy, capacity, models);
    }

    private static String node(WireReader in) {
        String s = in.nodeId();
        if (s.isEmpty()) {
            throw new WireFormatException("empty node id");
        }
        return s;
    }

    private static long incarnation(WireReader in) {
        return nonNegative(in.i64(), "incarnation");
    }

    private static long nonNegative(long v, String what) {
        if (v < 0) {
            throw new WireFormatException(what + " was " + v);
        }
        return v;
    }

    private static int nonNegative(int v, String what) {
        if (v < 0) {
            throw new WireFormatException(what + " was " + v);
        }
        return v;
    }
}
