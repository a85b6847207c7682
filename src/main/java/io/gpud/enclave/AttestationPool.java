package io.gpud.enclave;

import io.gpud.audit.AuditException;
import io.gpud.audit.AuditLog;
import io.gpud.core.Ticks;
import io.gpud.enclave.crypto.AttestationDocument;
import io.gpud.enclave.crypto.AttestationVerifier;
import io.gpud.enclave.crypto.PcrPolicy;
import io.gpud.enclave.protocol.EnclaveMessage;
import io.gpud.enclave.protocol.FrameChannel;
import io.gpud.enclave.protocol.ProtocolException;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Attestation documents for KMS {@code Recipient}s, each over a fresh nonce of the parent's,
 * fetched from the enclave and verified (chain, signature, freshness, nonce, PCR policy)
 * ahead of the requests that will use them, so a request that needs KMS spends neither the
 * enclave's ES384 signature nor the parent's verification on its own path.
 *
 * <p>What keeps this as strong as asking per request: every document is handed out at
 * most once ({@link #take} removes it) and is discarded unused once its timestamp is older
 * than {@code useWithin} (a fraction of the verifier's maximum age); KMS still verifies the
 * document it receives and refuses a nonce it saw before. A document that failed
 * verification is never pooled: the failure is audited and the refill waits before it
 * tries again, while requests fall back to {@link #attestNow}, whose refusal the gateway
 * audits.
 *
 * <p>The refill runs on one platform thread with its own channel to the enclave. It tops
 * the pool up when no secure request is in flight (the enclave's and parent's CPU belong
 * to requests first), and regardless of that once the pool is down to half.
 * A pool of capacity 0 starts no thread: every request attests on demand.
 */
final class AttestationPool implements AutoCloseable {

    /** How many documents wait for requests, at most. */
    static final int DEFAULT_CAPACITY = 8;
    /** How often the refill looks at the pool when nothing wakes it: to drop and replace stale documents. */
    private static final Duration IDLE_CHECK = Duration.ofSeconds(1);
    /** How long the refill waits after a failure before it asks the enclave again. */
    private static final Duration RETRY_AFTER_FAILURE = Duration.ofSeconds(5);
    private static final int NONCE_BYTES = 32;

    /** What an attestation came to. */
    sealed interface Attestation {
    }

    /** A verified document over a nonce of ours that no one else was given; use it once. */
    record Attested(byte[] document, Instant timestamp) implements Attestation {
    }

    /** No usable document; {@code reason} is for the audit log only. */
    record Unavailable(String reason) implements Attestation {
    }

    private final FrameChannel channel;
    private final AttestationVerifier verifier;
    private final PcrPolicy policy;
    private final AuditLog audit;
    private final Clock clock;
    private final SecureRandom random;
    private final int capacity;
    private final Duration useWithin;
    private final Deque<Attested> ready = new ArrayDeque<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Ticks ticks = new Ticks();
    private final Object wake = new Object();
    private boolean wanted;
    private final Thread refill;

    /**
     * @param channel   the channel attestations are asked on (the refill's own when {@code capacity > 0})
     * @param capacity  documents kept ready; 0 attests on demand only
     * @param useWithin how old (by its timestamp) a pooled document may be when handed out
     */
    AttestationPool(FrameChannel channel, AttestationVerifier verifier, PcrPolicy policy, AuditLog audit, Clock clock,
                    SecureRandom random, int capacity, Duration useWithin) {
        if (capacity < 0) {
            throw new EnclaveException("attestation pool capacity was " + capacity + ", must be 0 or more");
        }
        if (useWithin.isNegative() || useWithin.isZero()) {
            throw new EnclaveException("attestation pool useWithin was " + useWithin + ", must be positive");
        }
        this.channel = channel;
        this.verifier = verifier;
        this.policy = policy;
        this.audit = audit;
        this.clock = clock;
        this.random = random;
        this.capacity = capacity;
        this.useWithin = useWithin;
        this.refill = capacity == 0 ? null
                : Thread.ofPlatform().daemon().name("attestation-pool").start(this::refillLoop);
    }

    /** A pooled document that is still fresh, or on demand (on {@code onDemand}) when none is. */
    Attestation take(FrameChannel onDemand) {
        Instant now = clock.instant();
        Attested taken;
        synchronized (ready) {
            do {
                taken = ready.pollFirst();
            } while (taken != null && !fresh(taken, now));
        }
        signal();
        return taken != null ? taken : attestNow(onDemand);
    }

    /** A secure request began; the refill leaves the CPU to it unless the pool runs low. */
    void requestStarted() {
        inFlight.incrementAndGet();
    }

    /** A secure request ended (sealed, aborted or refused). */
    void requestEnded() {
        if (inFlight.updateAndGet(n -> Math.max(0, n - 1)) == 0) {
            signal();
        }
    }

    /** Documents ready right now. */
    int ready() {
        synchronized (ready) {
            return ready.size();
        }
    }

    /** Asks the enclave on {@code on} for a document over a fresh nonce and verifies it. */
    Attestation attestNow(FrameChannel on) {
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        EnclaveMessage reply;
        try {
            reply = EnclaveMessage.decode(on.call(EnclaveMessage.encode(new EnclaveMessage.AttestRequest(nonce))));
        } catch (IOException e) {
            throw new EnclaveException("the enclave cannot be reached: " + e.getMessage(), e);
        } catch (ProtocolException e) {
            throw new EnclaveException("the enclave answered outside the protocol: " + e.getMessage(), e);
        }
        if (!(reply instanceof EnclaveMessage.AttestReply(byte[] document))) {
            return new Unavailable("enclave refused");
        }
        return switch (verifier.verify(document, clock.instant(), nonce)) {
            case AttestationVerifier.Rejected(String reason) -> new Unavailable("rejected: " + reason);
            case AttestationVerifier.Verified(AttestationDocument d) -> policy.check(d)
                    .<Attestation>map(reason -> new Unavailable("rejected: " + reason))
                    .orElseGet(() -> new Attested(document, d.timestamp()));
        };
    }

    private boolean fresh(Attested a, Instant now) {
        return !a.timestamp().plus(useWithin).isBefore(now);
    }

    private void signal() {
        if (refill == null) {
            return;
        }
        synchronized (wake) {
            wanted = true;
            wake.notifyAll();
        }
    }

    private void refillLoop() {
        while (!ticks.closed()) {
            awaitWork();
            if (ticks.closed()) {
                return;
            }
            dropStale();
            while (!ticks.closed() && shouldAttest()) {
                Attestation a;
                try {
                    a = attestNow(channel);
                } catch (EnclaveException e) {
                    a = new Unavailable(e.getMessage());
                }
                if (a instanceof Unavailable(String reason)) {
                    try {
                        audit.append("secure.attest", Map.of("for", "attestation pool", "outcome", "unavailable",
                                "reason", reason));
                    } catch (AuditException e) {
                        // Counted and logged by the audit log; no document was pooled, so nothing went unrecorded.
                    }
                    ticks.await(RETRY_AFTER_FAILURE);
                    break;
                }
                synchronized (ready) {
                    ready.addLast((Attested) a);
                }
            }
        }
    }

    private void awaitWork() {
        synchronized (wake) {
            if (!wanted) {
                try {
                    wake.wait(IDLE_CHECK.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    ticks.close();
                }
            }
            wanted = false;
        }
    }

    private void dropStale() {
        Instant now = clock.instant();
        synchronized (ready) {
            // Documents are added in timestamp order: the stale ones are at the front. Drop
            // those that will be stale within an idle check, so a request never gets one.
            while (!ready.isEmpty() && !fresh(ready.peekFirst(), now.plus(IDLE_CHECK))) {
                ready.removeFirst();
            }
        }
    }

    private boolean shouldAttest() {
        int n = ready();
        return n < capacity && (inFlight.get() == 0 || n < capacity / 2 + 1);
    }

    @Override
    public void close() {
        ticks.close();
        signal();
        if (refill != null) {
            try {
                refill.join(Duration.ofSeconds(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (ready) {
            ready.clear();
        }
    }
}
