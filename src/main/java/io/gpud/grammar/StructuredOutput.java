package io.gpud.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.inference.TokenConstraint;
import io.gpud.inference.Tokenizer;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * A JSON document a generation must produce, compiled against one tokenizer's vocabulary.
 * {@link #compile} turns a schema into a byte-level automaton ({@link Frame}); {@link #start}
 * gives one generation a {@link TokenConstraint} over the vocabulary's tokens. Compiled
 * schemas are cached per tokenizer (see {@link Vocabulary#COMPILED_MAX}).
 */
public final class StructuredOutput {
    private final Vocabulary vocabulary;
    private final Shape root;
    private final List<Frame.Piece> before;
    private final List<Frame.Piece> after;

    private StructuredOutput(Vocabulary vocabulary, Shape root, List<Frame.Piece> before, List<Frame.Piece> after) {
        this.vocabulary = vocabulary;
        this.root = root;
        this.before = before;
        this.after = after;
    }

    /**
     * Compiles {@code schema} (a JSON Schema object; null for any JSON object, as
     * {@code response_format: json_object} and Ollama's {@code format: "json"} ask) against
     * {@code tokenizer}. Cached per (schema text, tokenizer).
     *
     * @throws SchemaException naming the keyword (as a JSON pointer into the schema) that is
     *                         not supported or not valid
     */
    public static StructuredOutput compile(JsonNode schema, Tokenizer tokenizer) {
        Vocabulary vocabulary = Vocabulary.of(tokenizer);
        String key = schema == null ? "null" : schema.toString();
        synchronized (vocabulary.compiled) {
            StructuredOutput cached = vocabulary.compiled.get(key);
            if (cached != null) {
                return cached;
            }
        }
        var compiled = new StructuredOutput(vocabulary, SchemaCompiler.compile(schema), List.of(), List.of());
        compiled.checkSingleBytes();
        synchronized (vocabulary.compiled) {
            vocabulary.compiled.put(key, compiled);
        }
        return compiled;
    }

    /**
     * The same document with literal text before and after it, which may hold special tokens'
     * text (Qwen's {@code <tool_call>}, Mistral's {@code [TOOL_CALLS]}); used to force a tool call.
     */
    public StructuredOutput wrapped(String prefix, String suffix) {
        var wrapped = new StructuredOutput(vocabulary, root, vocabulary.pieces(prefix), vocabulary.pieces(suffix));
        wrapped.checkSingleBytes();
        return wrapped;
    }

    /**
     * A constraint for one generation of at most {@code maxTokens} tokens, which closes the
     * document in time and then allows only the end-of-generation token.
     *
     * @throws IllegalArgumentException when no valid document fits in {@code maxTokens} tokens
     */
    public TokenConstraint start(int maxTokens) {
        Frame first = Frame.Document.start(before, root, after);
        long needed = (long) first.total() + 1;
        if (needed > maxTokens) {
            throw new IllegalArgumentException("the shortest document the schema allows needs " + needed
                    + " tokens with the end-of-generation token (counting a token per byte), more than the " + maxTokens
                    + " allowed");
        }
        if (vocabulary.endOfGeneration.length == 0) {
            throw new IllegalArgumentException("the vocabulary has no end-of-generation token to end the document with");
        }
        return new SchemaConstraint(vocabulary, first, maxTokens);
    }

    /**
     * The budget counts a token per byte of the shortest finish, which holds when each byte
     * it may need is a token by itself: printable ASCII, the bytes of the wrapping, and those
     * a pattern's shortest strings may need ({@link PatternText#bytesNeeded}).
     */
    private void checkSingleBytes() {
        for (int b = 0x20; b < 0x7F; b++) {
            requireSingleByte(b);
        }
        boolean[] needed = new boolean[256];
        patterns(root, Collections.newSetFromMap(new IdentityHashMap<>()), needed);
        for (int b = 0; b < 256; b++) {
            if (needed[b]) {
                requireSingleByte(b);
            }
        }
        for (Frame.Piece piece : before) {
            requireSingleBytes(piece);
        }
        for (Frame.Piece piece : after) {
            requireSingleBytes(piece);
        }
    }

    /** Marks the bytes the patterns of the shapes reachable from {@code shape} may need. */
    private static void patterns(Shape shape, Set<Shape> seen, boolean[] needed) {
        if (shape == null || !seen.add(shape)) {
            return;
        }
        switch (shape) {
            case Shape.Str str -> {
                if (str.pattern != null) {
                    boolean[] bytes = str.pattern.bytesNeeded();
                    for (int b = 0; b < 256; b++) {
                        needed[b] |= bytes[b];
                    }
                }
            }
            case Shape.Obj obj -> {
                obj.properties.forEach(p -> patterns(p.shape(), seen, needed));
                patterns(obj.additional, seen, needed);
                patterns(obj.keys, seen, needed);
            }
            case Shape.Arr arr -> {
                arr.prefix.forEach(p -> patterns(p, seen, needed));
                patterns(arr.items, seen, needed);
            }
            case Shape.Union union -> union.alternatives.forEach(a -> patterns(a, seen, needed));
            case Shape.Ref ref -> patterns(ref.target, seen, needed);
            case Shape.Any any -> { }
            case Shape.Num num -> { }
            case Shape.Literal literal -> { }
        }
    }

    private void requireSingleBytes(Frame.Piece piece) {
        if (piece.bytes() != null) {
            for (byte b : piece.bytes()) {
                requireSingleByte(b & 0xFF);
            }
        }
    }

    private void requireSingleByte(int b) {
        if (!vocabulary.singleByte[b]) {
            throw new SchemaException("", "the vocabulary has no token for the single byte 0x%02X, which structured"
                    .formatted(b) + " output needs to be sure to finish a document in time");
        }
    }
}
