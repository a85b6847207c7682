package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The block bookkeeping of the prefix cache, without a model: tokens stand for their keys and values. */
class PrefixCacheTest {
    private static final int B = 4;
    private final List<Integer> scrubbed = new ArrayList<>();

    private PrefixCache cache(int blocks) {
        return new PrefixCache(blocks, B, 42L, true, scrubbed::add);
    }

    private static int[] tokens(int from, int count) {
        return IntStream.range(from, from + count).toArray();
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    /** Runs a sequence's prompt and {@code generated} new tokens through its table, as an engine would. */
    private static void compute(PrefixCache cache, PrefixCache.Table table, int[] prompt, int[] generated) {
        for (int p = table.reusedTokens(); p < prompt.length; p++) {
            cache.written(table, p, prompt[p]);
        }
        for (int i = 0; i < generated.length; i++) {
            cache.written(table, prompt.length + i, generated[i]);
        }
    }

    @Test
    void aRepeatedPromptReusesItsWholeBlocksButAlwaysComputesItsLastToken() {
        PrefixCache cache = cache(16);
        int[] prompt = tokens(100, 10);
        var first = cache.claim(prompt, null, 14, PrefixCache.Use.SHARED);
        assertEquals(0, first.reusedTokens());
        compute(cache, first, prompt, tokens(500, 4));
        cache.release(first);

        var again = cache.claim(prompt, null, 14, PrefixCache.Use.SHARED);
        assertEquals(8, again.reusedTokens());
        assertEquals(first.block(0), again.block(0));
        assertEquals(first.block(4), again.block(4));
        cache.release(again);

        int[] exact = tokens(100, 8); // two whole blocks: the second is recomputed for its last token's logits
        var whole = cache.claim(exact, null, 9, PrefixCache.Use.SHARED);
        assertEquals(4, whole.reusedTokens());
        cache.release(whole);

        // the generated tokens registered too: the next turn reuses them
        int[] nextTurn = concat(concat(prompt, tokens(500, 4)), tokens(900, 5));
        var turn = cache.claim(nextTurn, null, 20, PrefixCache.Use.SHARED);
        assertEquals(12, turn.reusedTokens());
        cache.release(turn);

        var stats = cache.stats();
        assertEquals(4, stats.lookups());
        assertEquals(8 + 4 + 12, stats.hitTokens());
        assertEquals(10 + 10 + 8 + 19, stats.promptTokens());
        assertEquals(0, stats.blocksInUse());
    }

    @Test
    void namesARouterComputedSpareTheHashingButNeverVouchForContents() {
        PrefixCache cache = cache(16);
        int[] prompt = tokens(100, 10);
        var first = cache.claim(prompt, null, 10, PrefixCache.Use.SHARED);
        compute(cache, first, prompt, new int[0]);
        cache.release(first);

        var named = cache.claim(prompt, PrefixHashes.of(42L, prompt, prompt.length, B), 10, PrefixCache.Use.SHARED);
        assertEquals(8, named.reusedTokens());
        cache.release(named);

        // names of another seed (a router on another model version): the engine names the blocks itself
        var foreign = cache.claim(prompt, PrefixHashes.of(7L, prompt, prompt.length, B), 10, PrefixCache.Use.SHARED);
        assertEquals(8, foreign.reusedTokens());
        cache.release(foreign);

        int[] other = tokens(300, 10); // another prompt under the first prompt's names
        var lied = cache.claim(other, PrefixHashes.of(42L, prompt, prompt.length, B), 10, PrefixCache.Use.SHARED);
        assertEquals(0, lied.reusedTokens());
        cache.release(lied);
    }

    @Test
    void aPromptThatDivergesReusesOnlyTheBlocksBeforeTheDifference() {
        PrefixCache cache = cache(16);
        int[] prompt = tokens(0, 12);
        var first = cache.claim(prompt, null, 12, PrefixCache.Use.SHARED);
        compute(cache, first, prompt, new int[0]);
        cache.release(first);

        int[] other = prompt.clone();
        other[5] = 77; // in block 1
        var second = cache.claim(other, null, 12, PrefixCache.Use.SHARED);
        assertEquals(4, second.reusedTokens());
        cache.release(second);
    }

    @Test
    void twoSequencesComputingTheSameBlockEndUpSharingOne() {
        PrefixCache cache = cache(8);
        int[] prompt = tokens(0, 6);
        var a = cache.claim(prompt, null, 8, PrefixCache.Use.SHARED);
        var b = cache.claim(prompt, null, 8, PrefixCache.Use.SHARED);
        assertEquals(0, a.reusedTokens());
        assertEquals(0, b.reusedTokens());
        assertEquals(4, cache.stats().blocksInUse());
        compute(cache, a, prompt, new int[0]);
        compute(cache, b, prompt, new int[0]);
        assertEquals(a.block(0), b.block(0));
        assertEquals(3, cache.stats().blocksInUse());
        cache.release(a);
        cache.release(b);
        assertEquals(0, cache.stats().blocksInUse());
        assertEquals(1, cache.stats().blocksCached());
    }

    @Test
    void evictionTakesTheDeepestBlocksOfTheLeastRecentlyReleasedSequenceFirst() {
        PrefixCache cache = cache(3);
        int[] one = tokens(0, 9); // blocks 0, 1 registered; block 2 partial
        var a = cache.claim(one, null, 9, PrefixCache.Use.SHARED);
        compute(cache, a, one, new int[0]);
        cache.release(a);
        assertEquals(2, cache.stats().blocksCached());

        int[] two = tokens(1000, 8); // needs 2 blocks: 1 is free beyond the 2 cached, so one is evicted
        var b = cache.claim(two, null, 8, PrefixCache.Use.SHARED);
        assertEquals(1, cache.stats().evictions());
        cache.release(b);

        // the first block of `one` outlived its continuation
        var c = cache.claim(one, null, 9, PrefixCache.Use.SHARED);
        assertEquals(4, c.reusedTokens());
        cache.release(c);
    }

    @Test
    void aClaimThatDoesNotFitChangesNothing() {
        PrefixCache cache = cache(3);
        var a = cache.claim(tokens(0, 8), null, 8, PrefixCache.Use.SHARED);
        assertNull(cache.claim(tokens(0, 8), null, 8, PrefixCache.Use.SHARED));
        assertNull(cache.claim(tokens(0, 4), null, 17, PrefixCache.Use.SHARED));
        assertEquals(2, cache.stats().blocksInUse());
        cache.release(a);
        assertThrows(IllegalStateException.class, () -> cache.release(a));
    }

    @Test
    void aPrivateSequenceNeitherReusesNorLeavesBlocksAndItsBlocksAreZeroed() {
        PrefixCache cache = cache(8);
        int[] prompt = tokens(0, 9);
        var shared = cache.claim(prompt, null, 9, PrefixCache.Use.SHARED);
        compute(cache, shared, prompt, new int[0]);
        cache.release(shared);

        var secret = cache.claim(prompt, null, 9, PrefixCache.Use.PRIVATE);
        assertEquals(0, secret.reusedTokens());
        compute(cache, secret, prompt, new int[0]);
        int[] its = secret.blocks().clone();
        cache.release(secret);
        assertEquals(java.util.Set.of(its[0], its[1], its[2]), java.util.Set.copyOf(scrubbed));
        assertEquals(2, cache.stats().blocksCached()); // only the shared sequence's blocks

        var unshared = cache.claim(prompt, null, 9, PrefixCache.Use.UNSHARED);
        assertEquals(0, unshared.reusedTokens());
        cache.release(unshared);
        assertEquals(3, scrubbed.size());
    }

    @Test
    void aBlockWhoseParentWasEvictedAndReusedIsNeverMatched() {
        PrefixCache cache = cache(3);
        int[] prompt = tokens(0, 9);
        var a = cache.claim(prompt, null, 9, PrefixCache.Use.SHARED);
        compute(cache, a, prompt, new int[0]);
        int parent = a.block(0);
        cache.release(a);
        // two cached (blocks 0 and 1), one free; a sequence of 2 blocks evicts the deepest (block 1)
        var b = cache.claim(tokens(50, 5), null, 8, PrefixCache.Use.SHARED);
        cache.release(b);
        // and then the prefix itself
        var c = cache.claim(tokens(70, 5), null, 12, PrefixCache.Use.SHARED);
        assertTrue(IntStream.of(c.blocks()).anyMatch(x -> x == parent));
        cache.release(c);
        var d = cache.claim(prompt, null, 9, PrefixCache.Use.SHARED);
        assertEquals(0, d.reusedTokens());
        cache.release(d);
    }

    @Test
    void announcesTheDeepestBlockOfEachPromptAndSequenceAndTheirEviction() {
        PrefixCache cache = cache(4);
        int[] prompt = tokens(0, 6);
        long[] names = PrefixHashes.of(42L, concat(prompt, tokens(100, 3)), 9, B);
        var a = cache.claim(prompt, null, 9, PrefixCache.Use.SHARED);
        compute(cache, a, prompt, tokens(100, 3));
        cache.release(a);
        List<Long> held = new ArrayList<>();
        List<Long> dropped = new ArrayList<>();
        cache.drainAnnouncements(held::add, dropped::add);
        assertEquals(List.of(names[0], names[1]), held);
        assertTrue(dropped.isEmpty());

        var b = cache.claim(tokens(1000, 16), null, 16, PrefixCache.Use.SHARED); // takes every block
        cache.drainAnnouncements(held::add, dropped::add);
        assertEquals(java.util.Set.of(names[0], names[1]), java.util.Set.copyOf(dropped));
        cache.release(b);
    }

    @Test
    void aBlockEvictedAndHeldAgainBeforeADrainIsAnnouncedAsHeld() {
        PrefixCache cache = cache(3);
        int[] prompt = tokens(0, 5);
        long first = PrefixHashes.of(42L, prompt, 4, B)[0];
        var a = cache.claim(prompt, null, 5, PrefixCache.Use.SHARED);
        compute(cache, a, prompt, new int[0]);
        cache.release(a);
        List<Long> held = new ArrayList<>();
        List<Long> dropped = new ArrayList<>();
        cache.drainAnnouncements(held::add, dropped::add);
        assertEquals(List.of(first), held);

        var b = cache.claim(tokens(100, 12), null, 12, PrefixCache.Use.SHARED); // evicts it
        cache.release(b);
        var c = cache.claim(prompt, null, 5, PrefixCache.Use.SHARED); // computes and holds it again
        compute(cache, c, prompt, new int[0]);
        cache.release(c);
        held.clear();
        cache.drainAnnouncements(held::add, dropped::add);
        assertTrue(held.contains(first), "held again: " + held);
        assertTrue(dropped.isEmpty(), "its eviction was published after all: " + dropped);

        var d = cache.claim(tokens(200, 12), null, 12, PrefixCache.Use.SHARED); // evicts it again
        cache.release(d);
        var e = cache.claim(prompt, null, 5, PrefixCache.Use.SHARED);
        compute(cache, e, prompt, new int[0]);
        cache.release(e);
        var f = cache.claim(tokens(300, 12), null, 12, PrefixCache.Use.SHARED); // and again, before a drain
        cache.release(f);
        held.clear();
        cache.drainAnnouncements(held::add, dropped::add);
        assertEquals(List.of(first), dropped, "the last news of the block is its eviction");
        assertTrue(!held.contains(first), "held and evicted before a drain: " + held);
    }

    @Test
    void namesDependOnEveryTokenBeforeAndOnTheSeed() {
        int[] t = tokens(0, 8);
        long[] a = PrefixHashes.of(1L, t, 8, 4);
        int[] u = t.clone();
        u[0] = 99;
        long[] b = PrefixHashes.of(1L, u, 8, 4);
        assertEquals(2, a.length);
        assertNotEquals(a[0], b[0]);
        assertNotEquals(a[1], b[1]);
        assertNotEquals(a[0], PrefixHashes.of(2L, t, 8, 4)[0]);
        assertArrayEquals(new long[] {a[0]}, PrefixHashes.of(1L, t, 7, 4));
    }
}
