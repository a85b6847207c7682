package io.gpud.grammar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.inference.Tokenizer;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Schemas that reach one value several ways: a {@code $ref} cycle that writes nothing is
 * refused when compiled, and ambiguous alternatives keep the parser state small (equal heads
 * collapse, and the rest is capped) while every generation still ends with a valid document.
 */
class AmbiguousSchemasTest {
    private static final Tokenizer SIM = new SimTokenizer();
    /** What every array-of-arrays schema below allows, said without ambiguity, for the validator. */
    private static final JsonNode NESTED_ARRAYS = SchemaCheck.json("{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}");

    @Test
    void aRefCycleThatConsumesNothingIsRefusedByItsPointer() {
        assertCycle("", "{\"anyOf\":[{\"$ref\":\"#\"},{\"type\":\"null\"}]}");
        assertCycle("/$defs/a", """
                {"$defs":{"a":{"anyOf":[{"$ref":"#/$defs/a"},{"type":"string"}]}},"$ref":"#/$defs/a"}""");
        assertCycle("/$defs/a", """
                {"$defs":{"a":{"oneOf":[{"$ref":"#/$defs/b"},{"type":"integer"}]},"b":{"$ref":"#/$defs/a"}},
                 "type":"array","items":{"$ref":"#/$defs/a"}}""");
        assertCycle("", "{\"$ref\":\"#\"}");
    }

    private static void assertCycle(String pointer, String schema) {
        var refused = assertThrows(SchemaException.class, () -> StructuredOutput.compile(SchemaCheck.json(schema), SIM),
                schema);
        assertEquals(pointer, refused.pointer(), refused.getMessage());
        assertTrue(refused.getMessage().contains("$ref cycle that consumes nothing"), refused.getMessage());
    }

    @Test
    void recursionThroughAnArrayOrAnObjectStays() {
        walks("{\"anyOf\":[{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}},{\"type\":\"null\"}]}", null);
        walks("""
                {"$defs":{"t":{"anyOf":[{"type":"object","properties":{"kids":{"type":"array",
                 "items":{"$ref":"#/$defs/t"}}},"required":["kids"],"additionalProperties":false},
                 {"type":"string","maxLength":3}]}},"$ref":"#/$defs/t"}""", null);
    }

    @Test
    void equalAlternativesKeepOneHead() {
        String recursive = """
                {"anyOf":[{"type":"array","items":{"$ref":"#"}},{"type":"array","items":{"$ref":"#"}}]}""";
        assertHeadsAfterBrackets(recursive, 40, 1);
        walks(recursive, NESTED_ARRAYS);

        // 24 levels of two equal alternatives: 2^24 parses of "[[[...", one head
        var defs = new StringBuilder("{\"$defs\":{\"d0\":{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}");
        for (int level = 1; level <= 24; level++) {
            String item = "{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/d" + (level - 1) + "\"}}";
            defs.append(",\"d").append(level).append("\":{\"anyOf\":[").append(item).append(',').append(item).append("]}");
        }
        String nested = defs.append("},\"$ref\":\"#/$defs/d24\"}").toString();
        assertHeadsAfterBrackets(nested, 40, 1);
        walks(nested, NESTED_ARRAYS);
    }

    @Test
    void overlappingAlternativesAreCappedAndStillFinish() {
        String overlapping = """
                {"anyOf":[{"type":"array","items":{"$ref":"#"}},{"type":"array","items":{"$ref":"#"},"maxItems":9}]}""";
        assertHeadsAfterBrackets(overlapping, 40, SchemaConstraint.HEADS_MAX);
        walks(overlapping, NESTED_ARRAYS);
    }

    /** Feeds {@code depth} opening brackets and checks the heads after each never exceed {@code most}. */
    private static void assertHeadsAfterBrackets(String schema, int depth, int most) {
        Frame[] heads = {Frame.Document.start(List.of(), SchemaCompiler.compile(SchemaCheck.json(schema)), List.of())};
        var scratch = new Frame.Heads();
        for (int i = 1; i <= depth; i++) {
            heads = SchemaConstraint.step(heads, '[', scratch);
            assertTrue(heads.length >= 1 && heads.length <= most, heads.length + " heads after " + i + " brackets");
            assertEquals(i, SchemaConstraint.shortest(heads), "the closing brackets finish it");
        }
    }

    /** Random walks with tight and loose budgets: each ends in time with a document {@code check} accepts. */
    private static void walks(String schema, JsonNode check) {
        JsonNode parsed = SchemaCheck.json(schema);
        var compiled = StructuredOutput.compile(parsed, SIM);
        var random = new SplittableRandom(schema.hashCode());
        for (int i = 0; i < 20; i++) {
            int maxTokens = 3 + random.nextInt(i < 5 ? 4 : 80);
            var walk = StructuredOutputTest.walk(compiled.start(maxTokens), SIM, maxTokens, random);
            SchemaCheck.assertValid(check == null ? parsed : check, walk.text());
        }
    }
}
