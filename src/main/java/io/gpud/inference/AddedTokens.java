package io.gpud.inference;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The tokens a tokenizer matches in text verbatim before its model sees the text: special
 * (control) tokens such as {@code <|im_start|>} and user-defined added tokens such as
 * {@code <think>}. Text is cut at them the way Hugging Face's tokenizers and llama.cpp do:
 * scanning left to right, the longest added token that starts at a position wins.
 * Special tokens are matched only where asked ({@code parseSpecial}); user-defined ones
 * always.
 */
final class AddedTokens {
    /** A piece of text: either ordinary text (token -1) or one added token. */
    record Fragment(String text, int token) {
        boolean isToken() {
            return token >= 0;
        }
    }

    private final Map<String, Integer> ids;
    private final Set<Integer> special;
    private final Set<Integer> all;
    private final Map<Character, int[]> lengthsByFirstChar; // descending

    /**
     * @param ids     the added tokens' text and id
     * @param special the ids among them that are special (control) tokens
     */
    AddedTokens(Map<String, Integer> ids, Set<Integer> special) {
        this.ids = Map.copyOf(ids);
        this.special = Set.copyOf(special);
        this.all = Set.copyOf(ids.values());
        var lengths = new HashMap<Character, List<Integer>>();
        for (String text : ids.keySet()) {
            if (!text.isEmpty()) {
                var list = lengths.computeIfAbsent(text.charAt(0), c -> new ArrayList<>());
                if (!list.contains(text.length())) {
                    list.add(text.length());
                }
            }
        }
        this.lengthsByFirstChar = new HashMap<>();
        lengths.forEach((c, list) -> lengthsByFirstChar.put(c,
                list.stream().sorted((a, b) -> b - a).mapToInt(Integer::intValue).toArray()));
    }

    static final AddedTokens NONE = new AddedTokens(Map.of(), Set.of());

    boolean isSpecial(int id) {
        return special.contains(id);
    }

    boolean contains(int id) {
        return all.contains(id);
    }

    /** Cuts {@code text} at added tokens (at special ones only where {@code parseSpecial}). */
    List<Fragment> split(String text, boolean parseSpecial) {
        var fragments = new ArrayList<Fragment>();
        int start = 0;
        int i = 0;
        while (i < text.length()) {
            int[] lengths = lengthsByFirstChar.get(text.charAt(i));
            int matched = 0;
            if (lengths != null) {
                for (int length : lengths) {
                    if (i + length <= text.length()) {
                        Integer id = ids.get(text.substring(i, i + length));
                        if (id != null && (parseSpecial || !special.contains(id))) {
                            if (i > start) {
                                fragments.add(new Fragment(text.substring(start, i), -1));
                            }
                            fragments.add(new Fragment(text.substring(i, i + length), id));
                            matched = length;
                            break;
                        }
                    }
                }
            }
            i += Math.max(matched, 1);
            if (matched > 0) {
                start = i;
            }
        }
        if (start < text.length()) {
            fragments.add(new Fragment(text.substring(start), -1));
        }
        return fragments;
    }

    /**
     * UTF-8 of {@code text} with each unpaired surrogate as U+FFFD (EF BF BD), as
     * JavaScript's TextEncoder and Rust's String do, where Java's encoder would write '?'.
     */
    static byte[] utf8(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (Character.isSurrogate(text.charAt(i))) {
                var clean = new StringBuilder(text.length());
                text.codePoints().forEach(cp -> clean.appendCodePoint(cp >= 0xD800 && cp <= 0xDFFF ? 0xFFFD : cp));
                return clean.toString().getBytes(StandardCharsets.UTF_8);
            }
        }
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
