package io.gpud.inference;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.IntConsumer;
import java.util.function.LongConsumer;

/**
 * The KV memory of one engine as fixed-size blocks, and the prefix cache over them.
 *
 * <h2>Blocks and tables</h2>
 * The memory holds {@code blocks} blocks of {@code blockTokens} positions each (a backend
 * maps block {@code b} to its memory). A running sequence holds a {@link Table}: the block
 * of each of its {@code blockTokens}-position spans, claimed all at once for its prompt and
 * its max tokens ({@link #claim}), so it never waits for memory mid-generation.
 *
 * <h2>Reuse</h2>
 * A full block that a {@link Use#SHARED} sequence has computed is <em>registered</em> under
 * its name ({@link PrefixHashes}: chained over every token up to its end). A new shared
 * sequence walks its prompt's block names from the first and takes every registered block
 * that matches, so it computes only the rest; at least its last prompt token is always
 * computed (it gives the logits of the first new token). A match is proven, not trusted:
 * the registered block must hold the same tokens and follow the very block matched before
 * it (the parent's id and its registration epoch), so a hash collision or a block whose
 * parent was evicted and reused can never lend wrong keys and values. Since the forward pass
 * computes every position exactly as it would alone, a reused block holds bit for bit what
 * the sequence would have computed: greedy output is the same with or without the cache.
 *
 * <p>Blocks are shared copy-free: a registered block may be in many tables (a reference
 * count). A sequence writes only positions past its reused prefix, in blocks of its own.
 * When one of them fills and an identical block is already registered (two sequences
 * computed the same prefix at once), the table switches to the registered block and frees
 * its own. A registered block no table holds stays cached, least recently released first
 * in line for eviction; a sequence releases its deepest block first, so a prefix outlives
 * its continuations. A claim takes free blocks first, then evicts.
 *
 * <h2>Isolation</h2>
 * A {@link Use#PRIVATE} sequence (a secure-envelope request) neither reuses nor registers
 * anything: no other request can read its keys and values, or learn from timing whether
 * its prefix was cached, and its blocks are zeroed ({@code scrub}) before they are free
 * again. {@link Use#UNSHARED} (embeddings, or the cache turned off) neither reuses nor
 * registers, without the zeroing.
 *
 * <h2>Announcements</h2>
 * For cache-affinity routing the engine announces the names of the deepest registered
 * block of each prompt (once prefilled) and of each finished sequence, and later the
 * eviction of any announced block ({@link PrefixCacheView#drainAnnouncements}).
 *
 * <p>Every method but those of {@link PrefixCacheView} belongs to the engine's scheduler
 * thread.
 */
public final class PrefixCache implements PrefixCacheView {
    /** Announcements of each kind that wait at most (twice as many in all); older ones are dropped first. */
    public static final int ANNOUNCEMENTS = 4096;

    /** How a sequence uses the cache. */
    public enum Use {
        /** Reuses a cached prefix and leaves its full blocks for others. */
        SHARED,
        /** Neither reuses nor leaves anything. */
        UNSHARED,
        /** Neither reuses nor leaves anything, and its blocks are zeroed when released. */
        PRIVATE
    }

    private final int blockTokens;
    private final int blockCount;
    private final long seed;
    private final boolean sharing;
    private final IntConsumer scrub;

    // per block
    private final long[] name;
    private final int[] parent;      // the block before it when registered, -1 for a first block
    private final int[] parentEpoch; // the parent's epoch then
    private final int[] epoch;       // counts the block's registrations ended
    private final int[] refs;
    private final boolean[] registered;
    private final boolean[] announced;
    private final int[] tokens;      // (block, blockTokens)
    private final Map<Long, Integer> index = new HashMap<>();

    // registered blocks no table holds, least recently released first
    private final int[] lruPrev;
    private final int[] lruNext;
    private int lruHead = -1;
    private int lruTail = -1;
    private volatile int lruSize; // read by stats()

    private final int[] free;
    private int freeCount;

    /**
     * Announcements not yet drained, oldest first: a name's latest news, true for held and
     * false for dropped: a name evicted and held again before a drain is published as held,
     * one held and evicted again as dropped (its last state, whatever peers knew before).
     */
    private final LinkedHashMap<Long, Boolean> news = new LinkedHashMap<>();

    // written by the scheduler thread only
    private volatile long lookups;
    private volatile long promptTokens;
    private volatile long hitTokens;
    private volatile long evictions;
    private volatile int blocksInUse;

    /**
     * @param blocks      blocks of memory
     * @param blockTokens positions per block
     * @param seed        the model's {@link PrefixHashes#seed}
     * @param sharing     whether {@link Use#SHARED} sequences share at all (the prefix cache
     *                    on); when off they run as {@link Use#UNSHARED}
     * @param scrub       zeroes the memory of a block (called for private sequences' blocks)
     */
    public PrefixCache(int blocks, int blockTokens, long seed, boolean sharing, IntConsumer scrub) {
        if (blocks < 1) {
            throw new IllegalArgumentException("blocks was " + blocks + ", must be at least 1");
        }
        if (blockTokens < 1) {
            throw new IllegalArgumentException("blockTokens was " + blockTokens + ", must be at least 1");
        }
        this.blockTokens = blockTokens;
        this.blockCount = blocks;
        this.seed = seed;
        this.sharing = sharing;
        this.scrub = scrub;
        name = new long[blocks];
        parent = new int[blocks];
        parentEpoch = new int[blocks];
        epoch = new int[blocks];
        refs = new int[blocks];
        registered = new boolean[blocks];
        announced = new boolean[blocks];
        tokens = new int[Math.multiplyExact(blocks, blockTokens)];
        lruPrev = new int[blocks];
        lruNext = new int[blocks];
        free = new int[blocks];
        for (int b = 0; b < blocks; b++) {
            free[b] = blocks - 1 - b; // block 0 is taken first
            lruPrev[b] = -1;
            lruNext[b] = -1;
        }
        freeCount = blocks;
    }

    @Override
    public long seed() {
        return seed;
    }

    @Override
    public int blockTokens() {
        return blockTokens;
    }

    /** Blocks in all. */
    public int blocks() {
        return blockCount;
    }

    /** Blocks a sequence of {@code positions} positions holds. */
    public int blocksFor(int positions) {
        return (int) (((long) positions + blockTokens - 1) / blockTokens);
    }

    /** One sequence's blocks: block {@code i} holds its positions {@code [i·B, (i+1)·B)}. */
    public final class Table {
        private final int[] blocks;
        private final int promptLength;
        private final Use use;
        private final int reused;
        private int shared;    // leading blocks that are registered: the chain so far
        private long chainName; // the name of block shared − 1, or the seed
        private boolean chainBroken;
        private boolean released;

        private Table(int[] blocks, int promptLength, Use use, int reusedBlocks, long chainName) {
            this.blocks = blocks;
            this.promptLength = promptLength;
            this.use = use;
            this.reused = reusedBlocks * blockTokens;
            this.shared = reusedBlocks;
            this.chainName = chainName;
        }

        /** Prompt tokens whose keys and values came from the cache: the sequence starts computing here. */
        public int reusedTokens() {
            return reused;
        }

        /** Positions it holds. */
        public int positions() {
            return blocks.length * blockTokens;
        }

        /** The block that holds {@code position}. */
        public int block(int position) {
            return blocks[position / blockTokens];
        }

        /** Its blocks in position order; not to be changed. */
        public int[] blocks() {
            return blocks;
        }
    }

    /**
     * Blocks for a sequence of {@code positions} positions whose prompt is {@code prompt}:
     * a shared one reuses the longest cached chain of its prompt's blocks (leaving at least
     * its last prompt token to compute). {@code names}, when not null, are the prompt's block
     * names as a router computed them ({@link PrefixHashes#of}); they spare the hashing, and
     * never vouch for contents, since every match compares tokens. At the first name that
     * misses and differs from this engine's own, the rest are named here (a router of
     * another version or model seed costs no reuse). Null, with nothing
     * changed, while the blocks are taken by running sequences.
     */
    public Table claim(int[] prompt, long[] names, int positions, Use use) {
        if (positions < Math.max(1, prompt.length)) {
            throw new IllegalArgumentException("positions was " + positions + ", must be at least 1 and the prompt's "
                    + prompt.length);
        }
        int needed = blocksFor(positions);
        if (needed > blockCount) {
            return null;
        }
        boolean shares = use == Use.SHARED && sharing;
        int[] hits = new int[0];
        long chain = seed;
        int hitCount = 0;
        int hitsCached = 0; // hits no table holds yet: they leave the eviction line, not the free count
        if (shares && prompt.length > 0) {
            int reusable = Math.min((prompt.length - 1) / blockTokens, needed);
            hits = new int[reusable];
            int previous = -1;
            boolean given = names != null;
            for (int i = 0; i < reusable; i++) {
                long n = given && i < names.length ? names[i]
                        : PrefixHashes.next(chain, prompt, i * blockTokens, blockTokens);
                Integer b = index.get(n);
                if (given && (b == null || !matches(b, previous, prompt, i * blockTokens))) {
                    long own = PrefixHashes.next(chain, prompt, i * blockTokens, blockTokens);
                    if (own != n) { // the router named blocks otherwise (another seed or template): name them here
                        given = false;
                        n = own;
                        b = index.get(n);
                    }
                }
                if (b == null || !matches(b, previous, prompt, i * blockTokens)) {
                    break;
                }
                hits[hitCount++] = b;
                hitsCached += refs[b] == 0 ? 1 : 0;
                previous = b;
                chain = n;
            }
        }
        int fresh = needed - hitCount;
        if (fresh > freeCount + lruSize - hitsCached) {
            return null;
        }
        int[] blocks = new int[needed];
        for (int i = 0; i < hitCount; i++) {
            acquire(hits[i]);
            blocks[i] = hits[i];
        }
        for (int i = hitCount; i < needed; i++) {
            blocks[i] = take();
        }
        if (shares) {
            lookups++;
            promptTokens += prompt.length;
            hitTokens += (long) hitCount * blockTokens;
        }
        return new Table(blocks, prompt.length, shares ? Use.SHARED : use == Use.PRIVATE ? Use.PRIVATE
                : Use.UNSHARED, hitCount, chain);
    }

    /**
     * Position {@code position} of {@code table} now holds the keys and values of
     * {@code token}; call in position order, after the step that computed it. A shared
     * sequence's block registers as it fills.
     */
    public void written(Table table, int position, int token) {
        int i = position / blockTokens;
        int b = table.blocks[i];
        if (position < table.reused) {
            throw new IllegalArgumentException("position " + position + " was reused from the cache, not computed");
        }
        if (table.use != Use.SHARED) {
            return; // only a shared block is ever matched: a private prompt's tokens are not kept
        }
        tokens[b * blockTokens + position % blockTokens] = token;
        if (position % blockTokens == blockTokens - 1 && !table.chainBroken && i == table.shared) {
            filled(table, i);
        }
    }

    /** Block {@code i} of a shared table is full: register it, or switch to the identical block already registered. */
    private void filled(Table table, int i) {
        int b = table.blocks[i];
        int previous = i == 0 ? -1 : table.blocks[i - 1];
        long n = PrefixHashes.next(table.chainName, tokens, b * blockTokens, blockTokens);
        Integer existing = index.get(n);
        if (existing != null && existing != b && matches(existing, previous, tokens, b * blockTokens)) {
            acquire(existing);
            table.blocks[i] = existing;
            refs[b] = 0;
            free[freeCount++] = b;
            blocksInUse--;
        } else {
            if (existing != null) {
                if (refs[existing] > 0) {
                    table.chainBroken = true; // a different block under the same name: a collision
                    return;
                }
                evict(existing); // a stale block: its parent was evicted, nothing can reach it
            }
            name[b] = n;
            parent[b] = previous;
            parentEpoch[b] = previous < 0 ? 0 : epoch[previous];
            registered[b] = true;
            index.put(n, b);
        }
        table.shared = i + 1;
        table.chainName = n;
        if ((i + 1) * blockTokens <= table.promptLength && (i + 2) * blockTokens > table.promptLength) {
            announce(table.blocks[i]); // the deepest block of the prompt
        }
    }

    /**
     * Frees a table: its registered blocks stay cached (its deepest first in line for
     * eviction), the others are free again, a private table's zeroed first.
     */
    public void release(Table table) {
        if (table.released) {
            throw new IllegalStateException("the table was released already");
        }
        table.released = true;
        if (table.shared > 0) {
            announce(table.blocks[table.shared - 1]);
        }
        for (int i = table.blocks.length - 1; i >= 0; i--) {
            int b = table.blocks[i];
            if (--refs[b] > 0) {
                continue;
            }
            blocksInUse--;
            if (registered[b]) {
                lruAppend(b);
            } else {
                if (table.use == Use.PRIVATE) {
                    scrub.accept(b);
                }
                free[freeCount++] = b;
            }
        }
    }

    /** Whether registered block {@code b} holds {@code source[from, +B)} and follows {@code previous}. */
    private boolean matches(int b, int previous, int[] source, int from) {
        if (!registered[b] || parent[b] != previous || previous >= 0 && parentEpoch[b] != epoch[previous]) {
            return false;
        }
        int at = b * blockTokens;
        for (int t = 0; t < blockTokens; t++) {
            if (tokens[at + t] != source[from + t]) {
                return false;
            }
        }
        return true;
    }

    private void acquire(int b) {
        if (refs[b]++ == 0) {
            lruRemove(b);
            blocksInUse++;
        }
    }

    /** A block for a new span: a free one, else the least recently released cached one. */
    private int take() {
        if (freeCount == 0) {
            evict(lruHead);
        }
        int b = free[--freeCount];
        refs[b] = 1;
        blocksInUse++;
        return b;
    }

    /** Ends the registration of cached block {@code b} and frees it. */
    private void evict(int b) {
        lruRemove(b);
        index.remove(name[b]);
        registered[b] = false;
        epoch[b]++;
        evictions++;
        if (announced[b]) {
            announced[b] = false;
            synchronized (news) {
                news.remove(name[b]);
                offer(name[b], false);
            }
        }
        free[freeCount++] = b;
    }

    private void announce(int b) {
        if (announced[b] || !registered[b]) {
            return;
        }
        announced[b] = true;
        synchronized (news) {
            news.remove(name[b]);
            offer(name[b], true);
        }
    }

    private void offer(long value, boolean held) {
        if (news.size() == 2 * ANNOUNCEMENTS) {
            news.pollFirstEntry();
        }
        news.put(value, held);
    }

    private void lruAppend(int b) {
        lruPrev[b] = lruTail;
        lruNext[b] = -1;
        if (lruTail >= 0) {
            lruNext[lruTail] = b;
        } else {
            lruHead = b;
        }
        lruTail = b;
        lruSize++;
    }

    private void lruRemove(int b) {
        int p = lruPrev[b];
        int n = lruNext[b];
        if (p >= 0) {
            lruNext[p] = n;
        } else if (lruHead == b) {
            lruHead = n;
        } else {
            return; // not in the line
        }
        if (n >= 0) {
            lruPrev[n] = p;
        } else {
            lruTail = p;
        }
        lruPrev[b] = -1;
        lruNext[b] = -1;
        lruSize--;
    }

    @Override
    public Stats stats() {
        return new Stats(lookups, promptTokens, hitTokens, evictions, blocksInUse, lruSize, blockCount);
    }

    @Override
    public void drainAnnouncements(LongConsumer heldNames, LongConsumer droppedNames) {
        long[] names;
        boolean[] held;
        synchronized (news) {
            names = new long[news.size()];
            held = new boolean[names.length];
            int i = 0;
            for (var n : news.entrySet()) {
                names[i] = n.getKey();
                held[i++] = n.getValue();
            }
            news.clear();
        }
        for (int i = 0; i < names.length; i++) {
            (held[i] ? heldNames : droppedNames).accept(names[i]);
        }
    }
}
