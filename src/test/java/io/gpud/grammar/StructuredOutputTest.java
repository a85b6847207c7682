package io.gpud.grammar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.inference.TokenConstraint;
import io.gpud.inference.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

class StructuredOutputTest {
    private static final Tokenizer SIM = new SimTokenizer();

    /** A generation that draws uniformly among the tokens the constraint allows. */
    record Walk(List<Integer> tokens, String text) {
    }

    /**
     * Draws uniformly among the allowed tokens until the end token, checking at every step that
     * {@code allows} says of each token exactly what {@code mask} does.
     */
    static Walk walk(TokenConstraint constraint, Tokenizer tokenizer, int maxTokens, SplittableRandom random) {
        var tokens = new ArrayList<Integer>();
        var text = new ByteArrayOutputStream();
        for (int step = 0; step < maxTokens; step++) {
            float[] logits = new float[tokenizer.vocabSize()];
            constraint.mask(logits);
            var allowed = new ArrayList<Integer>();
            for (int id = 0; id < logits.length; id++) {
                boolean masked = logits[id] == Float.NEGATIVE_INFINITY;
                assertEquals(!masked, constraint.allows(id), "token " + id + " after " + text.toString(StandardCharsets.UTF_8));
                if (!masked) {
                    allowed.add(id);
                }
            }
            int token = allowed.get(random.nextInt(allowed.size()));
            constraint.accept(token);
            tokens.add(token);
            if (tokenizer.isEndOfGeneration(token)) {
                return new Walk(tokens, text.toString(StandardCharsets.UTF_8));
            }
            text.writeBytes(tokenizer.tokenBytes(token));
        }
        throw new AssertionError("no end token within " + maxTokens + " tokens: " + text.toString(StandardCharsets.UTF_8));
    }

    static final List<Schemas.Named> SCHEMAS = Schemas.ALL;

    @ParameterizedTest
    @FieldSource("SCHEMAS")
    void everyRandomWalkEndsInTimeWithADocumentThatValidates(Schemas.Named named) {
        var compiled = StructuredOutput.compile(named.schema(), SIM);
        var random = new SplittableRandom(named.name().hashCode());
        int shortest = shortest(compiled);
        for (int i = 0; i < 40; i++) {
            int maxTokens = shortest + random.nextInt(i < 10 ? 4 : 120);
            Walk walk = walk(compiled.start(maxTokens), SIM, maxTokens, random);
            assertTrue(walk.tokens().size() <= maxTokens);
            SchemaCheck.assertValid(named.schema(), walk.text());
        }
    }

    /** The fewest tokens a generation of {@code compiled} needs: start refuses one fewer. */
    static int shortest(StructuredOutput compiled) {
        for (int n = 1; ; n++) {
            try {
                compiled.start(n);
                return n;
            } catch (IllegalArgumentException tooFew) {
                assertTrue(tooFew.getMessage().contains("needs "), tooFew.getMessage());
            }
        }
    }

    @Test
    void theBudgetForcesTheShortestDocumentAndSaysWhatItNeeds() {
        JsonNode schema = SchemaCheck.json("""
                {"type":"object","properties":{"ok":{"type":"boolean"},"n":{"type":"integer","minimum":250}},
                 "required":["ok","n"],"additionalProperties":false}""");
        var compiled = StructuredOutput.compile(schema, SIM);
        String shortest = "{\"ok\":true,\"n\":250}";
        int needed = shortest.length() + 1;
        var refused = assertThrows(IllegalArgumentException.class, () -> compiled.start(needed - 1));
        assertTrue(refused.getMessage().contains("needs " + needed + " tokens"), refused.getMessage());
        int space = SIM.encode(" ", false)[0];
        var exact = compiled.start(needed);
        exact.accept(SIM.encode("{", false)[0]);
        assertFalse(exact.allows(space), "no token to spare on whitespace");
        var roomy = compiled.start(needed + 1);
        roomy.accept(SIM.encode("{", false)[0]);
        assertTrue(roomy.allows(space), "one token to spare");
        var random = new SplittableRandom(7);
        for (int i = 0; i < 30; i++) {
            Walk walk = walk(compiled.start(needed), SIM, needed, random);
            assertTrue(walk.tokens().size() <= needed);
            SchemaCheck.assertValid(schema, walk.text());
        }
    }

    @Test
    void onceCompleteOnlyTheEndTokenMayFollow() {
        var constraint = StructuredOutput.compile(SchemaCheck.json("{\"const\":[1]}"), SIM).start(10);
        assertFalse(constraint.allows(SimTokenizer.EOS));
        for (int token : SIM.encode("[1]", false)) {
            constraint.accept(token);
        }
        for (int id = 0; id < SIM.vocabSize(); id++) {
            assertEquals(id == SimTokenizer.EOS, constraint.allows(id), "token " + id);
        }
    }

    @Test
    void aWrappingMayHoldAControlTokenWhichIsOtherwiseNeverAllowed() {
        JsonNode schema = SchemaCheck.json("""
                {"type":"object","properties":{"city":{"type":"string","maxLength":6}},"required":["city"]}""");
        var plain = StructuredOutput.compile(schema, SIM).start(40);
        assertFalse(plain.allows(SimTokenizer.TOOL_CALLS));
        assertFalse(plain.allows(SimTokenizer.BOS));

        var wrapped = StructuredOutput.compile(schema, SIM)
                .wrapped(SimTokenizer.TOOL_CALLS_TEXT + "[{\"name\": \"weather\", \"arguments\": ", "}]");
        var random = new SplittableRandom(3);
        for (int i = 0; i < 20; i++) {
            var constraint = wrapped.start(60);
            float[] logits = new float[SIM.vocabSize()];
            constraint.mask(logits);
            for (int id = 0; id < logits.length; id++) {
                assertEquals(id == SimTokenizer.TOOL_CALLS, logits[id] == 0f, "only the control token comes first: " + id);
            }
            Walk walk = walk(constraint, SIM, 60, random);
            assertEquals(SimTokenizer.TOOL_CALLS, walk.tokens().getFirst());
            assertTrue(walk.text().startsWith("[{\"name\": \"weather\", \"arguments\": "), walk.text());
            assertTrue(walk.text().endsWith("}]"), walk.text());
            String arguments = walk.text().substring("[{\"name\": \"weather\", \"arguments\": ".length(),
                    walk.text().length() - 2);
            SchemaCheck.assertValid(schema, arguments);
            SchemaCheck.json(walk.text());
        }
    }

    @Test
    void compiledSchemasAreCachedPerTokenizer() {
        JsonNode schema = Schemas.ALL.getFirst().schema();
        var first = StructuredOutput.compile(schema, SIM);
        assertSame(first, StructuredOutput.compile(schema.deepCopy(), SIM));
        assertSame(StructuredOutput.compile(null, SIM), StructuredOutput.compile(null, SIM));
        assertFalse(first == StructuredOutput.compile(schema, new SimTokenizer()));
    }

    @Test
    void unsupportedKeywordsAreRefusedByTheirPointer() {
        assertRefused("/properties/zip/pattern", """
                {"type":"object","properties":{"zip":{"type":"string","pattern":"^([0-9])\\\\1$"}}}""");
        assertRefused("/properties/mail/format", """
                {"type":"object","properties":{"mail":{"type":"string","format":"ipv6"}}}""");
        assertRefused("/allOf", "{\"allOf\":[{\"type\":\"string\"}]}");
        assertRefused("/minProperties", "{\"type\":\"object\",\"minProperties\":1}");
        assertRefused("/items/uniqueItems", "{\"type\":\"array\",\"items\":{\"type\":\"array\",\"uniqueItems\":true}}");
        assertRefused("/$defs/a/multipleOf", "{\"$ref\":\"#/$defs/a\",\"$defs\":{\"a\":{\"type\":\"integer\",\"multipleOf\":2}}}");
        assertRefused("/type", "{\"$ref\":\"#/$defs/a\",\"type\":\"object\",\"$defs\":{\"a\":{}}}");
        assertRefused("/$ref", "{\"$ref\":\"https://example.com/schema.json\"}");
        assertRefused("/$defs/missing", "{\"$ref\":\"#/$defs/missing\"}");
        assertRefused("/required", """
                {"type":"object","properties":{},"required":["x"],"additionalProperties":false}""");
        assertRefused("/minLength", "{\"type\":\"integer\",\"minLength\":2}");
        assertRefused("/type", "{\"type\":\"date\"}");
        assertRefused("/items", "{\"type\":\"array\",\"items\":[{\"type\":\"string\"}]}");
        assertRefused("/properties/a/enum", "{\"properties\":{\"a\":{\"type\":\"string\",\"enum\":[1,2]}}}");
        assertRefused("", "{\"type\":\"number\",\"minimum\":0.5,\"maximum\":0.6}");
        assertRefused("", "{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#\"}},\"required\":[\"a\"]}");
    }

    private static void assertRefused(String pointer, String schema) {
        var refused = assertThrows(SchemaException.class, () -> StructuredOutput.compile(SchemaCheck.json(schema), SIM),
                schema);
        assertEquals(pointer, refused.pointer(), refused.getMessage());
    }

    @Test
    void propertiesComeInTheSchemasOrder() {
        JsonNode schema = SchemaCheck.json("""
                {"type":"object","properties":{"z":{"const":1},"a":{"const":2},"m":{"const":3}},
                 "required":["m","z","a"]}""");
        var random = new SplittableRandom(1);
        Walk walk = walk(StructuredOutput.compile(schema, SIM).start(40), SIM, 40, random);
        assertEquals("{\"z\":1,\"a\":2,\"m\":3}", walk.text().replaceAll("\\s", ""));
    }
}
