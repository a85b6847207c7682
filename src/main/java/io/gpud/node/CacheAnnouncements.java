package io.gpud.node;

import io.gpud.inference.Engine;
import io.gpud.inference.PrefixCacheView;
import io.gpud.membership.LoadRecord;
import io.gpud.membership.PrefixCaches;
import java.util.List;
import java.util.Optional;
import java.util.function.LongConsumer;
import java.util.function.Supplier;

/**
 * This node's engines' prefix-cache announcements, as its load records carry them
 * ({@link PrefixCaches}). Block names are chained from a seed that names the model, so the
 * names of all engines go out as one set.
 *
 * <p>The epoch names the set of caches the engines have now: a value drawn when the node
 * starts, mixed with the identity of each engine's cache. A reload replaces an engine's
 * cache with an empty one, the epoch changes, and peers forget what this node held.
 */
final class CacheAnnouncements implements PrefixCaches.Source {

    private final Supplier<List<Engine>> engines;
    private final long nonce;

    /**
     * @param engines the engines served now
     * @param nonce   a random value drawn when the node starts, so a restarted node's epoch
     *                differs from its last life's
     */
    CacheAnnouncements(Supplier<List<Engine>> engines, long nonce) {
        this.engines = engines;
        this.nonce = nonce;
    }

    @Override
    public long epoch() {
        long epoch = LoadRecord.NO_CACHE;
        boolean any = false;
        for (Engine e : engines.get()) {
            Optional<PrefixCacheView> view = e.prefixCache();
            if (view.isPresent()) {
                any = true;
                epoch = epoch * 0x9E3779B97F4A7C15L + System.identityHashCode(view.get());
            }
        }
        if (!any) {
            return LoadRecord.NO_CACHE;
        }
        epoch ^= nonce;
        return epoch == LoadRecord.NO_CACHE || epoch == LoadRecord.EMPTY_CACHE ? 1 : epoch;
    }

    @Override
    public void drain(LongConsumer held, LongConsumer dropped) {
        for (Engine e : engines.get()) {
            e.prefixCache().ifPresent(view -> view.drainAnnouncements(held, dropped));
        }
    }
}
