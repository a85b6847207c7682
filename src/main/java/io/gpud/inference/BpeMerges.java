package io.gpud.inference;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Byte-pair merging: a table of "left right → merged" pairs, each with a rank (lower merges
 * first), and the merge loop that applies it to a word. The loop keeps the word as a linked
 * list and its mergeable pairs in a min-heap keyed by (rank, position), so a word of n
 * symbols takes O(n log n), not the O(n²) of rescanning the word after every merge; ties of
 * rank go to the leftmost pair, as Hugging Face's and sentencepiece's merging do.
 */
final class BpeMerges {
    /** No merge for the pair. */
    static final long NONE = -1;

    /** The merge of a pair of ids as {@code rank << 32 | mergedId}, or {@link #NONE}. */
    @FunctionalInterface
    interface Pairs {
        long merge(int left, int right);
    }

    private final long[] keys;   // (left << 32 | right), 0 = empty slot (id pairs are stored + 1)
    private final long[] values; // (rank << 32 | merged)
    private final int mask;

    private BpeMerges(int capacity) {
        int size = Integer.highestOneBit(Math.max(4, capacity * 2 - 1)) << 1;
        keys = new long[size];
        values = new long[size];
        mask = size - 1;
    }

    /**
     * The table of {@code merges} ("left right", best first) over the vocabulary
     * {@code ids}; see {@link #ofPairs}.
     */
    static BpeMerges of(List<String> merges, Map<String, Integer> ids) {
        var pairs = new ArrayList<String[]>(merges.size());
        for (String merge : merges) {
            int space = merge.indexOf(' ');
            if (space <= 0 || space == merge.length() - 1 || space != merge.lastIndexOf(' ')) {
                throw new InferenceException("BPE merge " + pairs.size() + " is '" + merge + "', expected 'left right'");
            }
            pairs.add(new String[] {merge.substring(0, space), merge.substring(space + 1)});
        }
        return ofPairs(pairs, ids);
    }

    /**
     * The table of {@code pairs} (left, right; best first) over the vocabulary {@code ids};
     * every part and every result must be in the vocabulary. A pair listed twice keeps its
     * first (best) rank.
     */
    static BpeMerges ofPairs(List<String[]> pairs, Map<String, Integer> ids) {
        var table = new BpeMerges(pairs.size());
        for (int rank = 0; rank < pairs.size(); rank++) {
            String left = pairs.get(rank)[0];
            String right = pairs.get(rank)[1];
            Integer leftId = ids.get(left);
            Integer rightId = ids.get(right);
            Integer merged = ids.get(left + right);
            if (leftId == null || rightId == null || merged == null) {
                throw new InferenceException("BPE merge " + rank + " '" + left + " " + right + "' has a part or result "
                        + "that is not in the vocabulary");
            }
            table.putIfAbsent(leftId, rightId, rank, merged);
        }
        return table;
    }

    private void putIfAbsent(int left, int right, int rank, int merged) {
        long key = pairKey(left, right);
        int slot = slot(key);
        while (keys[slot] != 0) {
            if (keys[slot] == key) {
                return;
            }
            slot = (slot + 1) & mask;
        }
        keys[slot] = key;
        values[slot] = (long) rank << 32 | merged;
    }

    /** The merge of {@code left right} as {@code rank << 32 | mergedId}, or {@link #NONE}. */
    long merge(int left, int right) {
        if (left < 0 || right < 0) {
            return NONE;
        }
        long key = pairKey(left, right);
        for (int slot = slot(key); keys[slot] != 0; slot = (slot + 1) & mask) {
            if (keys[slot] == key) {
                return values[slot];
            }
        }
        return NONE;
    }

    private static long pairKey(int left, int right) {
        return ((long) left + 1) << 32 | (right + 1L);
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 32) & mask;
    }

    /**
     * Merges {@code symbols[0..n)} in place, best pair first, and returns how many symbols
     * remain (at the front of the array). Negative symbols never merge.
     */
    static int apply(int[] symbols, int n, Pairs pairs) {
        if (n < 2) {
            return n;
        }
        int[] next = new int[n];
        int[] prev = new int[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        boolean[] dead = new boolean[n];
        var heap = new LongHeap(n);
        for (int i = 0; i + 1 < n; i++) {
            push(heap, pairs, symbols, i, i + 1);
        }
        while (!heap.isEmpty()) {
            long entry = heap.pop();
            int i = (int) entry;
            int j = dead[i] ? -1 : next[i];
            if (j < 0) {
                continue;
            }
            long merge = pairs.merge(symbols[i], symbols[j]);
            if (merge == NONE || merge >>> 32 != entry >>> 32) {
                continue;                      // stale: the pair changed since it was queued
            }
            symbols[i] = (int) merge;
            dead[j] = true;
            next[i] = next[j];
            if (next[j] >= 0) {
                prev[next[j]] = i;
            }
            if (prev[i] >= 0) {
                push(heap, pairs, symbols, prev[i], i);
            }
            if (next[i] >= 0) {
                push(heap, pairs, symbols, i, next[i]);
            }
        }
        int count = 0;
        for (int i = 0; i >= 0; i = next[i]) {
            symbols[count++] = symbols[i];
        }
        return count;
    }

    private static void push(LongHeap heap, Pairs pairs, int[] symbols, int i, int j) {
        long merge = pairs.merge(symbols[i], symbols[j]);
        if (merge != NONE) {
            heap.push((merge >>> 32) << 32 | i);
        }
    }

    /** A binary min-heap of longs. */
    private static final class LongHeap {
        private long[] items;
        private int size;

        LongHeap(int capacity) {
            items = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void push(long item) {
            if (size == items.length) {
                items = Arrays.copyOf(items, size * 2);
            }
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (items[parent] <= item) {
                    break;
                }
                items[i] = items[parent];
                i = parent;
            }
            items[i] = item;
        }

        long pop() {
            long top = items[0];
            long last = items[--size];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= size) {
                    break;
                }
                if (child + 1 < size && items[child + 1] < items[child]) {
                    child++;
                }
                if (items[child] >= last) {
                    break;
                }
                items[i] = items[child];
                i = child;
            }
            items[i] = last;
            return top;
        }
    }
}
