package io.gpud.membership;

import io.gpud.config.MembershipConfig;
import io.gpud.membership.Message.Ack;
import io.gpud.membership.Message.Alive;
import io.gpud.membership.Message.Compound;
import io.gpud.membership.Message.Dead;
import io.gpud.membership.Message.IndirectPing;
import io.gpud.membership.Message.Load;
import io.gpud.membership.Message.MemberEntry;
import io.gpud.membership.Message.Nack;
import io.gpud.membership.Message.Ping;
import io.gpud.membership.Message.PushPull;
import io.gpud.membership.Message.Suspect;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.ObjLongConsumer;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * One member of one gossip pool: SWIM failure detection and dissemination with the
 * Lifeguard extensions. A pure state machine: it owns no thread, reads no clock and opens
 * no socket. Its driver hands it one event at a time with the current time in
 * nanoseconds ({@link #onPacket}, {@link #onStream}, {@link #onTimers}) and asks when it
 * next needs to run ({@link #nextDeadline()}); everything it sends goes through the
 * injected {@link Transport}, every choice it makes comes from the injected
 * {@link RandomGenerator}. The real daemon and the deterministic simulator drive this very
 * class, so what the simulator proves at 600 hosts is what runs on the wire.
 *
 * <h2>Failure detection</h2>
 * Every {@code probeInterval} the node probes the next member of a shuffled round-robin
 * list (a full pass touches everyone, so a crash is noticed within about N intervals at
 * worst and one on average across the cluster, since N nodes probe at once). A probe is a
 * direct ping; if no ack arrives within {@code probeTimeout}, {@code k = indirectChecks}
 * other members are asked to ping the target and relay the ack, and the same ping goes to
 * the target once over a stream (TCP): its retransmissions get through a path lossy enough
 * to eat the direct and the relayed datagrams, which at 10% loss halves false suspicions.
 * Only when the probe period ends with no ack along any path does the node suspect the
 * target. Suspicion is
 * not death: the suspect message spreads, and the suspect — who hears of it by gossip,
 * and directly from the prober through the buddy system (a probe of a suspect carries the
 * accusation) — refutes it by raising its incarnation and gossiping alive. A member that
 * does not refute within the suspicion timeout is declared dead.
 *
 * <h2>Lifeguard</h2>
 * Three changes keep a slow or lossy node from killing healthy ones. <em>Local health
 * awareness</em>: a score in {@code [0, awarenessMax)} rises when our own probes fail
 * while the relays we asked send no nack (evidence that it is we who are not hearing), and
 * when we must refute a suspicion of ourselves; it falls with every ack. Probe timeouts
 * and the probe period are multiplied by {@code score + 1}, so a starved node probes less
 * and waits longer before accusing. <em>Dynamic suspicion</em>: the timeout starts at
 * {@code suspicionMaxMult × min} and shrinks logarithmically toward
 * {@code min = suspicionMult × log10(N) × probeInterval} with each independent
 * confirmation from another member; one confused accuser alone waits the maximum.
 * <em>Nacks</em>: a relay that cannot reach the target says so, which distinguishes "the
 * target is silent" from "I am not hearing anyone".
 *
 * <h2>Dissemination</h2>
 * Membership changes (alive, suspect, dead) enter a broadcast queue keyed by member, so a
 * newer fact about a node replaces an older one. They ride piggybacked on pings and acks
 * and are pushed every {@code gossipInterval} to {@code gossipNodes} random members, each
 * sent {@code retransmitMult × ceil(log10(N + 1))} times, fewest-sent first. Every
 * {@code pushPullInterval} the node exchanges its full table with one random member over
 * a stream, repairing whatever gossip missed; joining is the same exchange with a seed.
 *
 * <h2>Incarnations</h2>
 * Only a member raises its own incarnation. An alive at a higher incarnation overrides
 * anything; a suspect or dead at an incarnation at least as high as what we know
 * overrides alive. A member that hears itself suspected or dead (including in a push-pull
 * after a restart) bumps its incarnation above the accusation and gossips alive: this is
 * how a crashed node rejoins. Metadata changes are alives at a new incarnation too.
 *
 * <p>The arithmetic cannot overflow, and an accusation must always be refutable, so some
 * incarnations are absurd: refused and counted
 * ({@code gpud_gossip_<pool>_rejected_messages_total{reason="incarnation"}}). A member
 * raises its incarnation once per refutation or metadata change; at a thousand a second it
 * would need 35 years to reach {@link #MAX_INCARNATION} (2^40), so any message above it is
 * absurd, and so is an accusation at it, which the accused could no longer outbid. Our own
 * incarnation saturates there. Of another member we hold nothing its owner could not outbid:
 * an alive of it at the limit is absurd, and so is an accusation one below, so a refutation
 * always has an incarnation left that we take. A gossiped (UDP) alive, suspect or dead is also
 * absurd when it names a member more than {@link #MAX_INCARNATION_JUMP} (2^16) above what
 * that member announced (0 for an alive of a member we do not know yet), which for ourselves
 * is the incarnation we hold: nobody can have seen us higher than we are. The one honest
 * exception is a restarted member, which starts again at 0; the cluster tells it its old
 * incarnation through push-pull (its join, or the next exchange), which is checked against
 * the absolute limits only, and its refutation, one above what the cluster holds, passes the
 * jump check everywhere. Without a keyring anyone can still send messages within these
 * bounds (that is why a keyring is the default); what no single datagram can do any more is
 * evict a member for good or freeze what it says about itself.
 *
 * <h2>Strangers</h2>
 * A keyring keeps strangers out; without one (and even with one, against a member that
 * misbehaves) no message may turn this node into a reflector that sends traffic to an
 * address merely named in a packet. A ping from a prober we do not know at the address it
 * gives gets a bare ack, and any reply to an unknown sender must fit in the size of the
 * datagram that caused it. An indirect ping is relayed only when both the requester and the
 * target are members at the addresses it names. A push-pull or stream ping is answered with a
 * new TCP connection only to a member at that address, a configured seed, or the connecting
 * host (a TCP peer cannot be spoofed); a joining node that advertises an address on another
 * host is answered from its second attempt on, once the first merge made it a member.
 * A stale accusation is corrected only to a member's address. Each refusal is counted
 * ({@code gpud_gossip_<pool>_rejected_messages_total{reason}}).
 *
 * <h2>Cluster key operations</h2>
 * A keyring change made for the whole cluster ({@link #clusterKeyOp}) is gossiped like a
 * membership change and applied once per member; {@link ClusterKeyring} says how.
 *
 * <h2>Load</h2>
 * Load records never enter the broadcast queue: every {@code loadInterval} the node sends
 * its record straight to each live member of its own region, and a receiver keeps the
 * highest sequence number it has seen, with the time it arrived.
 *
 * <h2>The parts</h2>
 * This class holds the protocol's decisions, read top to bottom: the driver interface,
 * probing, message handling, gossip, push-pull, the load channel, commands. The state they
 * act on lives in small classes of its own: {@link MemberTable} (the members and their
 * sampling), {@link Suspicion} (one Lifeguard suspicion timer), {@link BroadcastQueue}
 * (what waits to be gossiped) and {@link ClusterKeyring} (the keys, and the operations
 * that change them cluster-wide).
 */
final class SwimProtocol {

    /**
     * How many times the usual transmissions a cluster key operation gets. With
     * {@code retransmitMult} transmissions per member a member misses a fact with a
     * probability of about {@code e^-retransmitMult×ceil(log10(N+1))} (3 in 10,000 at 4 and
     * N=20, enough to miss one now and then over many rotations); four times as many make it
     * negligible, for a handful of small packets per rotation.
     */
    static final int KEY_OP_TRANSMIT_FACTOR = 4;

    /**
     * The highest incarnation any member may have: above it, or an accusation at it, is absurd;
     * of another member we hold at most one less, and accuse at most two less.
     */
    static final long MAX_INCARNATION = 1L << 40;

    /** How far above what a member announced a gossiped alive, suspect or dead of it may be. */
    static final long MAX_INCARNATION_JUMP = 1L << 16;

    /** An outstanding probe of ours. */
    private static final class Probe {
        final String target;
        final long startNanos;
        long indirectAtNanos;
        final long endNanos;
        boolean indirectSent;
        int expectedNacks;
        int nacks;

        Probe(String target, long start, long indirectAt, long end) {
            this.target = target;
            this.startNanos = start;
            this.indirectAtNanos = indirectAt;
            this.endNanos = end;
        }
    }

    /** An indirect ping we relay for another member. */
    private record Relay(int originalSeq, InetSocketAddress requester, boolean wantNack, long deadlineNanos) {
    }

    private final String self;
    private final InetSocketAddress selfAddress;
    private final MembershipConfig config;
    private final Transport transport;
    private final RandomGenerator random;
    private final MembershipMetrics metrics;
    private final List<InetSocketAddress> seeds;
    private final Supplier<LoadRecord> loadSource;
    private final PrefixCaches caches;
    private CoordinateExchange coordinates;

    private final ClusterKeyring keys;
    /** Where region summaries go; a pool that expects none counts them as unexpected. */
    private ObjLongConsumer<Message.Summary> summaries;
    private long incarnation;
    private byte[] metadata;
    private String region;
    private boolean leaving;
    private int awareness;
    private int nextSeq;
    private long loadSeq;
    private boolean changed = true;
    /**
     * Bytes that replies to unknown senders may still take while the current datagram is
     * handled: its own size, so that this node never sends an address more than it was sent.
     */
    private int unknownReplyBudget;

    private final MemberTable members;
    private final List<String> probeOrder = new ArrayList<>();
    private int probeIndex;
    private final Map<Integer, Probe> probes = new HashMap<>();
    private final Map<Integer, Relay> relays = new HashMap<>();
    private final Map<String, Suspicion> suspicions = new HashMap<>();
    private final BroadcastQueue queue = new BroadcastQueue();

    private long nextProbeNanos;
    private long nextGossipNanos;
    private long nextPushPullNanos;
    private long nextLoadNanos;
    private long nextJoinNanos;

    /**
     * @param loadSource this node's current load for the load channel, or null to send none
     */
    SwimProtocol(String self, InetSocketAddress selfAddress, NodeMetadata metadata, MembershipConfig config,
                 Keyring keyring, Transport transport, RandomGenerator random, MembershipMetrics metrics,
                 List<InetSocketAddress> seeds, Supplier<LoadRecord> loadSource, long now) {
        this(self, selfAddress, metadata, config, keyring, transport, random, metrics, seeds, loadSource,
                PrefixCaches.none(self), now);
    }

    /**
     * @param loadSource this node's current load for the load channel, or null to send none
     * @param caches     this node's prefix-cache announcements, sent with its load records, and
     *                   where the peers' announcements go
     */
    SwimProtocol(String self, InetSocketAddress selfAddress, NodeMetadata metadata, MembershipConfig config,
                 Keyring keyring, Transport transport, RandomGenerator random, MembershipMetrics metrics,
                 List<InetSocketAddress> seeds, Supplier<LoadRecord> loadSource, PrefixCaches caches, long now) {
        this.self = self;
        this.caches = caches;
        this.selfAddress = selfAddress;
        this.config = config;
        this.keys = new ClusterKeyring(keyring, metrics);
        this.transport = transport;
        this.random = random;
        this.metrics = metrics;
        this.summaries = (r, at) -> metrics.packetsDropped.inc("unexpected");
        this.seeds = List.copyOf(seeds);
        this.loadSource = loadSource;
        this.metadata = checkedMetadata(metadata);
        this.region = metadata.region();
        this.members = new MemberTable(new Member(self, selfAddress, 0, MemberState.ALIVE, this.metadata, now));
        // Spread the first ticks over one interval so that simultaneously started nodes
        // do not probe in lock step.
        nextProbeNanos = now + jitter(config.probeInterval());
        nextGossipNanos = now + jitter(config.gossipInterval());
        nextPushPullNanos = now + config.pushPullInterval().toNanos() / 2 + jitter(config.pushPullInterval());
        nextLoadNanos = now + jitter(config.loadInterval());
        nextJoinNanos = seeds.isEmpty() ? Long.MAX_VALUE : now;
    }

    private long jitter(Duration d) {
        return random.nextLong(Math.max(1, d.toNanos()));
    }

    private byte[] checkedMetadata(NodeMetadata m) {
        byte[] bytes = m.encode();
        if (bytes.length > config.maxMetadataBytes()) {
            throw new IllegalArgumentException("metadata of " + bytes.length + " bytes exceeds gossip.maxMetadataBytes "
                    + config.maxMetadataBytes());
        }
        return bytes;
    }

    // ---------------------------------------------------------------- driver interface

    /** The earliest time at which {@link #onTimers} has work. */
    long nextDeadline() {
        long d = Math.min(nextProbeNanos, Math.min(nextPushPullNanos, nextJoinNanos));
        if (!queue.isEmpty()) {
            // An empty queue has nothing to gossip: no wake-up for it.
            d = Math.min(d, nextGossipNanos);
        }
        if (loadSource != null) {
            d = Math.min(d, nextLoadNanos);
        }
        for (Probe p : probes.values()) {
            d = Math.min(d, p.indirectSent ? p.endNanos : p.indirectAtNanos);
        }
        for (Relay r : relays.values()) {
            d = Math.min(d, r.deadlineNanos());
        }
        for (Suspicion s : suspicions.values()) {
            d = Math.min(d, s.deadline());
        }
        return d;
    }

    /** Runs every timer that is due at {@code now}. */
    void onTimers(long now) {
        if (leaving) {
            return;
        }
        if (now >= nextJoinNanos) {
            join(now);
        }
        for (var it = new ArrayList<>(probes.entrySet()).iterator(); it.hasNext(); ) {
            var e = it.next();
            Probe p = e.getValue();
            if (!p.indirectSent && now >= p.indirectAtNanos) {
                sendIndirect(e.getKey(), p, now);
            }
            if (p.indirectSent && now >= p.endNanos) {
                probes.remove(e.getKey());
                probeFailed(p, now);
            }
        }
        for (Iterator<Map.Entry<Integer, Relay>> it = relays.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (now >= e.getValue().deadlineNanos()) {
                it.remove();
                if (e.getValue().wantNack()) {
                    send(e.getValue().requester(), new Nack(e.getValue().originalSeq()), false);
                }
            }
        }
        for (var e : new ArrayList<>(suspicions.entrySet())) {
            if (now >= e.getValue().deadline()) {
                suspicions.remove(e.getKey());
                Member m = members.get(e.getKey());
                if (m != null && m.state == MemberState.SUSPECT && m.incarnation == e.getValue().incarnation) {
                    applyDead(new Dead(m.incarnation, m.name, self), now);
                }
            }
        }
        if (now >= nextProbeNanos) {
            probe(now);
            reap(now);
            nextProbeNanos = now + scaled(config.probeInterval());
        }
        if (now >= nextGossipNanos && !queue.isEmpty()) {
            gossip(now);
            nextGossipNanos = now + config.gossipInterval().toNanos();
        }
        if (now >= nextPushPullNanos) {
            pushPull(now);
            nextPushPullNanos = now + config.pushPullInterval().toNanos();
        }
        if (loadSource != null && now >= nextLoadNanos) {
            sendLoad(now);
            nextLoadNanos = now + config.loadInterval().toNanos();
        }
    }

    /** A datagram arrived. Anything that does not open or parse is counted and dropped. */
    void onPacket(InetSocketAddress from, byte[] packet, long now) {
        metrics.bytesReceived.add(packet.length);
        Message m = open(packet, config.maxPacketBytes() + Keyring.OVERHEAD);
        if (m == null || leaving) {
            return;
        }
        unknownReplyBudget = packet.length;
        if (m instanceof Compound c) {
            for (Message part : c.parts()) {
                handle(part, from, now);
            }
        } else {
            handle(m, from, now);
        }
    }

    /** A stream message arrived (a push-pull). */
    void onStream(InetSocketAddress from, byte[] frame, long now) {
        metrics.bytesReceived.add(frame.length);
        Message m = open(frame, MembershipAgent.MAX_STREAM_BYTES);
        if (m == null || leaving) {
            return;
        }
        if (m instanceof PushPull p) {
            // Whom to answer is decided before the merge: the table it carries names nobody.
            boolean answer = !p.reply() && mayOpenStream(p.source(), p.sourceAddress(), from);
            // Merge first, so the reply already carries any refutation the merge caused.
            merge(p, now);
            if (answer) {
                sendStream(p.sourceAddress(), new PushPull(false, true, self, selfAddress, table()));
            } else if (!p.reply()) {
                metrics.rejected.inc("stream");
            }
        } else if (m instanceof Ping p) {
            if (p.target().equals(self)) {
                if (mayOpenStream(p.source(), p.sourceAddress(), from)) {
                    sendStream(p.sourceAddress(), new Ack(p.seq()));
                } else {
                    metrics.rejected.inc("stream");
                }
            }
        } else if (m instanceof Ack a) {
            onAck(a.seq(), now);
        } else {
            metrics.packetsDropped.inc("unexpected");
        }
    }

    private Message open(byte[] packet, int limit) {
        if (packet.length > limit) {
            metrics.packetsDropped.inc("size");
            return null;
        }
        byte[] plain = keys.current().open(packet);
        if (plain == null) {
            metrics.packetsDropped.inc("decrypt");
            return null;
        }
        try {
            return Codec.decode(plain);
        } catch (WireFormatException e) {
            metrics.packetsDropped.inc("parse");
            return null;
        }
    }

    // ---------------------------------------------------------------- probing

    private void probe(long now) {
        Member target = nextProbeTarget();
        if (target == null) {
            return;
        }
        int seq = ++nextSeq;
        long indirectAt = now + scaled(config.probeTimeout());
        long end = now + scaled(config.probeInterval());
        probes.put(seq, new Probe(target.name, now, indirectAt, end));
        metrics.probes.inc();
        var ping = new Ping(seq, target.name, self, selfAddress);
        if (target.state == MemberState.SUSPECT) {
            // The buddy system: tell the suspect it is suspected, so it refutes at once.
            sendWithGossip(target.address, ping, new Suspect(target.incarnation, target.name, self));
        } else {
            sendWithGossip(target.address, ping, null);
        }
    }

    private Member nextProbeTarget() {
        for (int tries = 0; tries < 2; tries++) {
            while (probeIndex < probeOrder.size()) {
                Member m = members.get(probeOrder.get(probeIndex++));
                if (m != null && m.live() && !m.name.equals(self)) {
                    return m;
                }
            }
            probeOrder.clear();
            for (Member m : members.all()) {
                if (m.live() && !m.name.equals(self)) {
                    probeOrder.add(m.name);
                }
            }
            Collections.sort(probeOrder);
            shuffle(probeOrder);
            probeIndex = 0;
            if (probeOrder.isEmpty()) {
                return null;
            }
        }
        return null;
    }

    private void sendIndirect(int seq, Probe p, long now) {
        p.indirectSent = true;
        Member target = members.get(p.target);
        if (target == null || !target.live()) {
            return;
        }
        List<Member> relaysTo = members.random(config.indirectChecks(), m -> m.state == MemberState.ALIVE
                && !m.name.equals(p.target), random);
        p.expectedNacks = relaysTo.size();
        for (Member relay : relaysTo) {
            send(relay.address, new IndirectPing(seq, target.name, target.address, true, self, selfAddress), false);
        }
        // The stream fallback: the same ping over TCP, whose retransmissions get through a
        // lossy path that ate the datagrams. The ack comes back over a stream too.
        sendStream(target.address, new Ping(seq, target.name, self, selfAddress));
    }

    private void probeFailed(Probe p, long now) {
        metrics.probeFailures.inc();
        // Relays that did not even nack point at our own network or CPU; with nacks from
        // all of them, the target alone is silent and our health is not in question.
        if (p.expectedNacks == 0 || p.nacks < p.expectedNacks) {
            adjustAwareness(1);
        }
        Member target = members.get(p.target);
        if (target != null && target.live()) {
            applySuspect(new Suspect(target.incarnation, target.name, self), now);
        }
    }

    private void adjustAwareness(int delta) {
        awareness = Math.max(0, Math.min(config.awarenessMax() - 1, awareness + delta));
    }

    private long scaled(Duration d) {
        return d.toNanos() * (awareness + 1);
    }

    // ---------------------------------------------------------------- message handling

    private void handle(Message m, InetSocketAddress sender, long now) {
        switch (m) {
            case Ping p -> {
                if (!p.target().equals(self)) {
                    return;
                }
                if (knownAt(p.source(), p.sourceAddress())) {
                    sendWithGossip(p.sourceAddress(), new Ack(p.seq()),
                            coordinates == null ? null : new Message.Coordinate(self, coordinates.local()));
                } else {
                    // A prober we do not know (a member that joined a moment ago, or anyone
                    // naming a victim's address): a bare ack, no larger than the ping.
                    replyToUnknown(p.sourceAddress(), new Ack(p.seq()));
                }
            }
            case IndirectPing p -> {
                // Only between members: otherwise anyone could make this node ping any
                // address, or send acks and nacks to one.
                if (!knownAt(p.target(), p.targetAddress()) || !knownAt(p.source(), p.sourceAddress())) {
                    metrics.rejected.inc("relay");
                    return;
                }
                int seq = ++nextSeq;
                relays.put(seq, new Relay(p.seq(), p.sourceAddress(), p.wantNack(), now + config.probeTimeout().toNanos()));
                send(p.targetAddress(), new Ping(seq, p.target(), self, selfAddress), false);
            }
            case Ack a -> onAck(a.seq(), now);
            case Nack n -> {
                Probe p = probes.get(n.seq());
                if (p != null) {
                    p.nacks++;
                }
            }
            case Alive a -> {
                if (!absurd(a.node(), a.incarnation(), false, true)) {
                    applyAlive(a, now, false);
                }
            }
            case Suspect s -> {
                if (!absurd(s.node(), s.incarnation(), true, true)) {
                    correctStale(s.node(), s.incarnation(), sender);
                    applySuspect(s, now);
                }
            }
            case Dead d -> {
                if (!absurd(d.node(), d.incarnation(), true, true)) {
                    correctStale(d.node(), d.incarnation(), sender);
                    applyDead(d, now);
                }
            }
            case Load l -> onLoad(l.record(), now);
            case Message.Summary r -> summaries.accept(r, now);
            case Message.KeyOp k -> {
                if (keys.receive(k)) {
                    enqueueKeyOp(k);
                }
            }
            case Message.Coordinate c -> {
                Member from = members.get(c.node());
                if (from != null && !from.name.equals(self)) {
                    from.coordinate = c.coordinate();
                }
            }
            case PushPull p -> metrics.packetsDropped.inc("unexpected");
            case Compound c -> metrics.packetsDropped.inc("unexpected");
        }
    }

    /**
     * Whether {@code incarnation} is one no member can have reached (see Incarnations in the
     * class comment); counted when it is.
     *
     * @param accusation a suspect or dead, which the accused must be able to outbid
     * @param gossiped   it came by datagram, not in a push-pull
     */
    private boolean absurd(String node, long incarnation, boolean accusation, boolean gossiped) {
        boolean aboutSelf = node.equals(self);
        // What we may hold of another member stays below the limit by as much as its owner
        // needs to outbid it: an alive below the limit, an accusation below that alive.
        long highest = aboutSelf ? MAX_INCARNATION - (accusation ? 1 : 0)
                : MAX_INCARNATION - (accusation ? 2 : 1);
        boolean absurd = incarnation > highest;
        if (!absurd && gossiped) {
            Member m = members.get(node);
            // An accusation of a member we do not know is ignored anyway, and not counted; an
            // alive of one introduces it, as the member itself would, near 0.
            if (m != null || !accusation) {
                long announced = aboutSelf ? this.incarnation : m == null ? 0 : m.incarnation;
                absurd = incarnation - announced > MAX_INCARNATION_JUMP;
            }
        }
        if (absurd) {
            metrics.rejected.inc("incarnation");
        }
        return absurd;
    }

    /** Whether {@code node} is in our table (in any state) at exactly {@code address}, and is not us. */
    private boolean knownAt(String node, InetSocketAddress address) {
        Member m = members.get(node);
        return m != null && !node.equals(self) && m.address.equals(address);
    }

    /**
     * Whether a stream request may be answered with a new connection to {@code address}: a
     * member we know there, a configured seed, or an address on the host the request came
     * from ({@code from}, a TCP peer, cannot be spoofed). Never just any address a packet names.
     */
    private boolean mayOpenStream(String node, InetSocketAddress address, InetSocketAddress from) {
        return knownAt(node, address) || seeds.contains(address)
                || from != null && address.getAddress().equals(from.getAddress());
    }

    /**
     * Answers a datagram from a sender we do not know, if the answer fits what is left of the
     * datagram's own size: nobody can use this node to send an address more than they sent.
     */
    private void replyToUnknown(InetSocketAddress to, Message m) {
        byte[] packet = keys.current().seal(Codec.encode(m), random);
        if (packet.length > unknownReplyBudget) {
            metrics.rejected.inc("reply_size");
            return;
        }
        unknownReplyBudget -= packet.length;
        metrics.bytesSent.add(packet.length);
        transport.sendPacket(to, packet);
    }

    private void onAck(int seq, long now) {
        Relay relay = relays.remove(seq);
        if (relay != null) {
            send(relay.requester(), new Ack(relay.originalSeq()), false);
            return;
        }
        Probe p = probes.remove(seq);
        if (p == null) {
            return;
        }
        adjustAwareness(-1);
        Member m = members.get(p.target);
        if (m != null && !p.indirectSent) {
            long rtt = now - p.startNanos;
            m.rttNanos = m.rttNanos < 0 ? rtt : (m.rttNanos * 7 + rtt) / 8;
            changed = true;
            if (coordinates != null && m.coordinate != null) {
                coordinates.observed(m.name, Duration.ofNanos(rtt), m.coordinate);
            }
        }
    }

    private void onLoad(LoadRecord r, long now) {
        Member m = members.get(r.node());
        if (m == null || m.name.equals(self)) {
            return;
        }
        if (m.load == null || r.sequence() > m.load.sequence()) {
            m.load = r;
            m.loadReceivedNanos = now;
            changed = true;
            if (m.live()) { // a dead or left member's names were forgotten; a late record must not bring them back
                caches.apply(r);
            }
        }
    }

    /**
     * The sender gossips an accusation of a live member at an incarnation that member
     * already refuted: the refutation missed the sender, and once everyone's retransmissions
     * are spent nothing else would bring it. Answer with the alive we know.
     */
    private void correctStale(String node, long accusedIncarnation, InetSocketAddress sender) {
        Member m = members.get(node);
        if (m != null && m.state == MemberState.ALIVE && accusedIncarnation < m.incarnation && !node.equals(self)
                && isMemberAddress(sender)) {
            send(sender, new Alive(m.incarnation, m.name, m.address, m.metadataBytes), false);
        }
    }

    /** Whether another member is in our table at {@code address} (a scan: only for rare paths). */
    private boolean isMemberAddress(InetSocketAddress address) {
        for (Member m : members.all()) {
            if (m.address.equals(address) && !m.name.equals(self)) {
                return true;
            }
        }
        return false;
    }

    /** An alive: a new member, a refutation, a rejoin, or new metadata. */
    private void applyAlive(Alive a, long now, boolean fromPushPull) {
        if (a.node().equals(self)) {
            boolean stale = a.incarnation() < incarnation
                    || (a.incarnation() == incarnation && Arrays.equals(a.metadata(), metadata));
            if (!stale && !leaving) {
                refute(a.incarnation(), now);
            }
            return;
        }
        if (a.metadata().length > config.maxMetadataBytes()) {
            metrics.packetsDropped.inc("metadata");
            return;
        }
        Member m = members.get(a.node());
        if (m == null) {
            m = new Member(a.node(), a.address(), a.incarnation(), MemberState.ALIVE, a.metadata(), now);
            members.add(m);
            // Insert at a random place in the probe order so new members are probed soon.
            probeOrder.add(probeIndex + random.nextInt(probeOrder.size() - probeIndex + 1), m.name);
            enqueue(a.node(), a);
            changed = true;
            return;
        }
        boolean newer = a.incarnation() > m.incarnation;
        if (!newer) {
            return;
        }
        boolean wasLive = m.live();
        m.incarnation = a.incarnation();
        m.address = a.address();
        if (!Arrays.equals(m.metadataBytes, a.metadata())) {
            m.setMetadata(a.metadata());
        }
        if (m.state != MemberState.ALIVE) {
            m.state = MemberState.ALIVE;
            m.stateSinceNanos = now;
        }
        if (!wasLive) {
            members.revived();
            probeOrder.add(probeIndex + random.nextInt(probeOrder.size() - probeIndex + 1), m.name);
        }
        suspicions.remove(m.name);
        enqueue(a.node(), a);
        changed = true;
    }

    private void applySuspect(Suspect s, long now) {
        if (s.node().equals(self)) {
            if (!leaving) {
                if (s.incarnation() >= incarnation) {
                    refute(s.incarnation(), now);
                } else {
                    reannounce();
                }
            }
            return;
        }
        Member m = members.get(s.node());
        if (m == null || s.incarnation() < m.incarnation || !m.live()) {
            return;
        }
        if (m.state == MemberState.SUSPECT) {
            Suspicion sus = suspicions.get(m.name);
            if (sus != null && s.incarnation() == sus.incarnation && sus.confirm(s.from())) {
                enqueue(m.name, s);
            }
            return;
        }
        m.incarnation = s.incarnation();
        m.state = MemberState.SUSPECT;
        m.stateSinceNanos = now;
        changed = true;
        metrics.suspicions.inc();
        suspicions.put(m.name, Suspicion.start(s.incarnation(), s.from(), now, config, members.live()));
        enqueue(m.name, s);
        // Probe the suspect next: the ping carries the accusation to it (the buddy system)
        // and its ack carries back whatever it has to say.
        probeOrder.add(Math.min(probeIndex, probeOrder.size()), m.name);
    }

    private void applyDead(Dead d, long now) {
        if (d.node().equals(self)) {
            if (!leaving) {
                if (d.incarnation() >= incarnation) {
                    refute(d.incarnation(), now);
                } else {
                    reannounce();
                }
            }
            return;
        }
        Member m = members.get(d.node());
        if (m == null || d.incarnation() < m.incarnation || !m.live()) {
            return;
        }
        m.incarnation = d.incarnation();
        m.state = d.left() ? MemberState.LEFT : MemberState.DEAD;
        members.died();
        caches.forget(m.name);
        m.stateSinceNanos = now;
        suspicions.remove(m.name);
        metrics.deaths.inc();
        changed = true;
        enqueue(m.name, d);
    }

    private void refute(long accusedIncarnation, long now) {
        // An accusation is below MAX_INCARNATION (absurd() refused the rest), so this outbids it.
        incarnation = Math.min(MAX_INCARNATION, Math.max(incarnation, accusedIncarnation) + 1);
        members.self().incarnation = incarnation;
        metrics.refutations.inc();
        adjustAwareness(1);
        changed = true;
        enqueue(self, new Alive(incarnation, self, selfAddress, metadata));
    }

    /**
     * Someone still accuses us at an incarnation we already refuted: the refutation did
     * not reach it. Gossip the current alive again (no new incarnation), so it rides on
     * our next ack to that accuser.
     */
    private void reannounce() {
        enqueue(self, new Alive(incarnation, self, selfAddress, metadata));
    }

    // ---------------------------------------------------------------- gossip

    private int retransmitLimit() {
        return config.retransmitMult() * (int) Math.ceil(Math.log10(members.live() + 1.0));
    }

    private void enqueue(String about, Message m) {
        queue.add(about, m, members.size(), 1);
    }

    /**
     * A cluster key operation gets {@link #KEY_OP_TRANSMIT_FACTOR} times the transmissions of
     * a membership fact: push-pull does not carry it, so a member that gossip missed would
     * keep the old keys.
     */
    private void enqueueKeyOp(Message.KeyOp k) {
        queue.add("\0key-op-" + k.id(), k, members.size(), KEY_OP_TRANSMIT_FACTOR);
    }

    /** Adds to {@code out} the least-sent broadcasts that fit {@code budget} bytes. */
    private void takeBroadcasts(int budget, List<byte[]> out) {
        queue.take(budget, retransmitLimit(), out);
    }

    private void gossip(long now) {
        if (queue.isEmpty()) {
            return;
        }
        long deadWindow = config.gossipInterval().toNanos() * 100;
        List<Member> targets = members.random(config.gossipNodes(), m -> m.live()
                || now - m.stateSinceNanos < deadWindow, random);
        var parts = new ArrayList<byte[]>();
        for (Member t : targets) {
            parts.clear();
            takeBroadcasts(config.maxPacketBytes() - 8, parts);
            if (parts.isEmpty()) {
                return;
            }
            sendEncoded(t.address, parts.size() == 1 ? parts.getFirst() : Codec.encodeCompound(parts), false);
        }
    }

    private void sendWithGossip(InetSocketAddress to, Message primary, Message extra) {
        byte[] encoded = Codec.encode(primary);
        int budget = config.maxPacketBytes() - encoded.length - 16;
        var parts = new ArrayList<byte[]>();
        if (extra != null) {
            // First, so the receiver has read the accusation before it answers the ping.
            byte[] accusation = Codec.encode(extra);
            parts.add(accusation);
            budget -= accusation.length;
        }
        parts.add(encoded);
        takeBroadcasts(budget, parts);
        sendEncoded(to, parts.size() == 1 ? parts.getFirst() : Codec.encodeCompound(parts), false);
    }

    private void send(InetSocketAddress to, Message m, boolean stream) {
        sendEncoded(to, Codec.encode(m), stream);
    }

    private void sendEncoded(InetSocketAddress to, byte[] plaintext, boolean stream) {
        byte[] packet = keys.current().seal(plaintext, random);
        metrics.bytesSent.add(packet.length);
        if (stream) {
            transport.sendStream(to, packet);
        } else {
            transport.sendPacket(to, packet);
        }
    }

    private void sendStream(InetSocketAddress to, Message m) {
        send(to, m, true);
    }

    /** Forgets dead and left members once they have been gone for {@code deadRetention}. */
    private void reap(long now) {
        members.reap(now, config.deadRetention().toNanos(), caches::forget);
    }

    // ---------------------------------------------------------------- push-pull and join

    private List<MemberEntry> table() {
        var out = new ArrayList<MemberEntry>(members.size());
        for (Member m : members.all()) {
            long inc = m.name.equals(self) ? incarnation : m.incarnation;
            byte[] meta = m.name.equals(self) ? metadata : m.metadataBytes;
            out.add(new MemberEntry(m.name, m.address, inc, m.state, meta));
        }
        return out;
    }

    private void pushPull(long now) {
        List<Member> peer = members.random(1, m -> m.state == MemberState.ALIVE, random);
        if (!peer.isEmpty()) {
            sendStream(peer.getFirst().address, new PushPull(false, false, self, selfAddress, table()));
        }
        // Also try one member we think dead (not one that left): after a partition heals,
        // this is how the two sides find each other again, since nobody probes the dead.
        if (members.anyGone()) {
            List<Member> dead = members.random(1, m -> m.state == MemberState.DEAD, random);
            if (!dead.isEmpty()) {
                sendStream(dead.getFirst().address, new PushPull(false, false, self, selfAddress, table()));
            }
        }
    }

    private void join(long now) {
        boolean alone = members.all().stream().noneMatch(m -> m.live() && !m.name.equals(self));
        if (!alone) {
            nextJoinNanos = Long.MAX_VALUE;
            return;
        }
        for (InetSocketAddress seed : seeds) {
            if (!seed.equals(selfAddress)) {
                sendStream(seed, new PushPull(true, false, self, selfAddress, table()));
            }
        }
        nextJoinNanos = now + config.probeInterval().toNanos() * 5;
    }

    private void merge(PushPull p, long now) {
        for (MemberEntry e : p.members()) {
            if (absurd(e.node(), e.incarnation(), e.state() != MemberState.ALIVE, false)) {
                continue;
            }
            switch (e.state()) {
                case ALIVE -> applyAlive(new Alive(e.incarnation(), e.node(), e.address(), e.metadata()), now, true);
                // A remote death is only a suspicion here: we give the member a chance to refute.
                case SUSPECT, DEAD -> applySuspect(new Suspect(e.incarnation(), e.node(), p.source()), now);
                case LEFT -> applyDead(new Dead(e.incarnation(), e.node(), e.node()), now);
            }
        }
    }

    // ---------------------------------------------------------------- load channel

    private void sendLoad(long now) {
        LoadRecord record = caches.stamp(loadSource.get().stamped(self, ++loadSeq));
        byte[] load = Codec.encode(new Load(record));
        for (Member m : members.all()) {
            if (m.live() && !m.name.equals(self) && region.equals(m.metadata.region())) {
                sendEncoded(m.address, load, false);
            }
        }
    }

    // ---------------------------------------------------------------- commands

    /** From now on, ack direct pings with this node's coordinate and report probe round trips. */
    void exchangeCoordinates(CoordinateExchange exchange) {
        this.coordinates = exchange;
    }

    /** New metadata for this node: gossiped as an alive at a new incarnation. */
    void updateMetadata(NodeMetadata next, long now) {
        byte[] bytes = checkedMetadata(next);
        if (Arrays.equals(bytes, metadata)) {
            return;
        }
        metadata = bytes;
        region = next.region();
        incarnation = Math.min(MAX_INCARNATION, incarnation + 1);
        Member me = members.self();
        me.incarnation = incarnation;
        me.setMetadata(bytes);
        changed = true;
        enqueue(self, new Alive(incarnation, self, selfAddress, metadata));
    }

    /** Says goodbye to every live member directly; after this the node only listens. */
    void leave(long now) {
        byte[] bye = Codec.encode(new Dead(incarnation, self, self));
        for (Member m : members.all()) {
            if (m.live() && !m.name.equals(self)) {
                sendEncoded(m.address, bye, false);
            }
        }
        members.self().state = MemberState.LEFT;
        leaving = true;
        changed = true;
    }

    /**
     * Applies a keyring operation here and gossips it to the whole cluster, where every
     * member applies it once. Run install, then use, then remove, each after the previous
     * one reached everyone (seconds): at no step does a member seal with a key another
     * cannot open, so the rotation raises no suspicion.
     *
     * @throws IllegalArgumentException when the operation does not apply here (a bad key,
     *                                  use of a key not installed, removal of the primary)
     */
    Keyring clusterKeyOp(Message.KeyOp.Operation op, String key) {
        Message.KeyOp k = keys.start(op, key, random);
        enqueueKeyOp(k);
        return keys.current();
    }

    /** A member's own keyring changes from cluster operations go to {@code sink}. */
    void onKeyringChange(java.util.function.Consumer<Keyring> sink) {
        keys.onChange(sink);
    }

    /** Hands every region summary this node receives to {@code sink}, with the time it came. */
    void onSummary(ObjLongConsumer<Message.Summary> sink) {
        summaries = sink;
    }

    /** Sends one datagram outside the protocol's own traffic (a region summary). */
    void sendDirect(InetSocketAddress to, Message m) {
        send(to, m, false);
    }

    InetSocketAddress address() {
        return selfAddress;
    }

    void setKeyring(Keyring next) {
        keys.set(next);
    }

    Keyring keyring() {
        return keys.current();
    }

    // ---------------------------------------------------------------- views

    /** True once since the last call if the table changed in a way a snapshot shows. */
    boolean takeChanged() {
        boolean c = changed;
        changed = false;
        return c;
    }

    List<MemberView> snapshot(long now) {
        var out = new ArrayList<MemberView>(members.size());
        for (Member m : members.all()) {
            boolean me = m.name.equals(self);
            out.add(new MemberView(m.name, m.address, m.state, me ? incarnation : m.incarnation,
                    m.metadata, m.rttNanos < 0 ? null : Duration.ofNanos(m.rttNanos), m.load,
                    m.load == null ? null : Duration.ofNanos(now - m.loadReceivedNanos)));
        }
        out.sort((a, b) -> a.node().compareTo(b.node()));
        return out;
    }

    String self() {
        return self;
    }

    long incarnation() {
        return incarnation;
    }

    int awareness() {
        return awareness;
    }

    /** The table, for the simulator's invariants. */
    Map<String, Member> members() {
        return members.view();
    }

    // ---------------------------------------------------------------- helpers

    private void shuffle(List<String> list) {
        for (int i = list.size() - 1; i > 0; i--) {
            Collections.swap(list, i, random.nextInt(i + 1));
        }
    }
}
