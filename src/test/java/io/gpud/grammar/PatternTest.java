package io.gpud.grammar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.inference.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** {@code pattern}, the pattern formats and {@code propertyNames}: random walks, client schemas, refusals. */
class PatternTest {
    private static final Tokenizer SIM = new SimTokenizer();

    static final List<Schemas.Named> SCHEMAS = named(
            "zip codes and codes", """
            {"type":"object","properties":{"zip":{"type":"string","pattern":"^\\\\d{5}(?:-\\\\d{4})?$"},
             "code":{"type":"string","pattern":"^[A-Z]{2,3}-[0-9a-f]+$","maxLength":8}},
             "required":["zip","code"],"additionalProperties":false}""",
            "unanchored with lengths", """
            {"type":"string","pattern":"ab|c[^x-z]d","minLength":4,"maxLength":10}""",
            "characters a JSON string escapes", """
            {"type":"string","pattern":"^a\\"b\\\\\\\\c\\\\n\\\\u00e9[\\\\t\\\\x01]?\\\\/$"}""",
            "classes, groups and lazy quantifiers", """
            {"type":"array","items":{"type":"string","pattern":"^(?:\\\\w+?\\\\s)+\\\\S*[.!?]$","maxLength":12},"maxItems":3}""",
            "dots and negations", """
            {"type":"string","pattern":"^.{2}[^a-z]\\\\D\\\\W(x|yz)*$"}""",
            "unicode", """
            {"type":"string","pattern":"^[α-ω]{2}😀?(?<tail>é|\\\\uD83D\\\\uDE00)$"}""",
            "formats", """
            {"type":"object","properties":{"email":{"type":"string","format":"email"},
             "host":{"type":"string","format":"hostname"},"ip":{"type":"string","format":"ipv4"},
             "uri":{"type":"string","format":"uri","maxLength":40},
             "zod":{"type":"string","format":"email","pattern":"^(?:[A-Za-z0-9_'+\\\\-]+\\\\.)*[A-Za-z0-9_'+\\\\-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9\\\\-]*\\\\.)+[A-Za-z]{2,}$"}},
             "required":["email","host","ip","uri","zod"],"additionalProperties":false}""",
            "map with patterned names", """
            {"type":"object","propertyNames":{"type":"string","pattern":"^[a-z]{1,8}$"},
             "additionalProperties":{"type":"number"}}""",
            "map with named keys", """
            {"type":"object","propertyNames":{"enum":["x","y"]},"additionalProperties":{"type":"boolean"}}""",
            "map with long keys", """
            {"type":"object","propertyNames":{"minLength":3,"maxLength":5},"additionalProperties":{"type":"integer"}}""");

    private static List<Schemas.Named> named(String... pairs) {
        var named = new ArrayList<Schemas.Named>();
        for (int i = 0; i < pairs.length; i += 2) {
            named.add(new Schemas.Named(pairs[i], SchemaCheck.json(pairs[i + 1])));
        }
        return List.copyOf(named);
    }

    static final List<Schemas.Named> ALL = concat(SCHEMAS, Schemas.CLIENTS);

    private static List<Schemas.Named> concat(List<Schemas.Named> a, List<Schemas.Named> b) {
        var all = new ArrayList<>(a);
        all.addAll(b);
        return List.copyOf(all);
    }

    @ParameterizedTest
    @FieldSource("ALL")
    void everyRandomWalkEndsInTimeWithADocumentThatValidates(Schemas.Named named) {
        var compiled = StructuredOutput.compile(named.schema(), SIM);
        var random = new SplittableRandom(named.name().hashCode());
        int shortest = StructuredOutputTest.shortest(compiled);
        for (int i = 0; i < 30; i++) {
            int maxTokens = shortest + random.nextInt(i < 10 ? 4 : 150);
            var walk = StructuredOutputTest.walk(compiled.start(maxTokens), SIM, maxTokens, random);
            assertTrue(walk.tokens().size() <= maxTokens);
            SchemaCheck.assertValid(named.schema(), walk.text());
        }
    }

    @Test
    void theBudgetAtExactlyTheMinimumWritesTheShortestPatternString() {
        JsonNode schema = SchemaCheck.json("{\"type\":\"string\",\"pattern\":\"^\\\\d{5}$\"}");
        var compiled = StructuredOutput.compile(schema, SIM);
        int needed = "\"00000\"".length() + 1;
        var refused = assertThrows(IllegalArgumentException.class, () -> compiled.start(needed - 1));
        assertTrue(refused.getMessage().contains("needs " + needed + " tokens"), refused.getMessage());
        var random = new SplittableRandom(5);
        for (int i = 0; i < 30; i++) {
            var walk = StructuredOutputTest.walk(compiled.start(needed), SIM, needed, random);
            assertTrue(walk.text().matches("\"\\d{5}\""), walk.text());
            SchemaCheck.assertValid(schema, walk.text());
        }
        JsonNode escaped = SchemaCheck.json("{\"type\":\"string\",\"pattern\":\"^a\\\"?$\"}");
        assertEquals("\"a\"".length() + 1, StructuredOutputTest.shortest(StructuredOutput.compile(escaped, SIM)));
        JsonNode control = SchemaCheck.json("{\"type\":\"string\",\"pattern\":\"^\\\\x01$\"}");
        var exact = StructuredOutput.compile(control, SIM);
        int controlNeeded = "\"\\u0001\"".length() + 1;
        assertEquals(controlNeeded, StructuredOutputTest.shortest(exact));
        var walk = StructuredOutputTest.walk(exact.start(controlNeeded), SIM, controlNeeded, random);
        assertEquals("\"\\u0001\"", walk.text());
    }

    @Test
    void aPatternStringRefusesWhatItCannotFinish() {
        var constraint = StructuredOutput.compile(SchemaCheck.json("{\"type\":\"string\",\"pattern\":\"^ab?$\"}"), SIM)
                .start(20);
        int quote = SIM.encode("\"", false)[0];
        constraint.accept(quote);
        assertFalse(constraint.allows(SIM.encode("b", false)[0]));
        assertFalse(constraint.allows(quote), "the string needs its a");
        constraint.accept(SIM.encode("a", false)[0]);
        assertTrue(constraint.allows(quote));
        assertTrue(constraint.allows(SIM.encode("b", false)[0]));
        assertFalse(constraint.allows(SIM.encode("a", false)[0]));
    }

    @Test
    void theCompiledPatternMatchesWhatJavaRegexFinds() {
        List<String> patterns = List.of("^\\d{2,3}$", "a|bc", "^(?:ab)*c?$", "[^abc]{2}", "^.+@.+$", "x{2,}y",
                "^(a|b)+?$", "\\w\\W", "^[\\d-]{3}$", "^[a-c-]$", "c{0}d", "^\\S\\s\\S$", "é$", "^[\\u0061-\\u0063]*$",
                "^a{1}b{0,1}\\.$", "^(?:[A-Za-z0-9_'+\\-]+\\.)*[A-Za-z0-9_'+\\-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9\\-]*\\.)+[A-Za-z]{2,}$");
        String alphabet = "abcxy1 -_.@é";
        var random = new SplittableRandom(11);
        for (String pattern : patterns) {
            Regex.Dfa dfa = Regex.compile(pattern, "/pattern");
            var reference = java.util.regex.Pattern.compile(pattern);
            for (int i = 0; i < 3000; i++) {
                var text = new StringBuilder();
                for (int n = random.nextInt(8); n > 0; n--) {
                    text.append(alphabet.charAt(random.nextInt(alphabet.length())));
                }
                assertEquals(reference.matcher(text).find(), Regex.matches(dfa, text.toString()),
                        pattern + " on '" + text + "'");
            }
        }
    }

    @Test
    void unsupportedRegexFeaturesAreRefusedByTheirPointer() {
        for (String pattern : List.of("(a)\\\\1", "(?=a)a", "(?!a)b", "(?<=a)b", "(?<!a)b", "\\\\bword", "\\\\Bx",
                "\\\\p{L}", "(?i)abc", "a^b", "a$b", "(^a)", "(a$)", "\\\\k<n>", "[a-z]{1001}",
                "(?:(?:a{1000}){20})", "(a", "a)", "[a-", "*a", "a{3,2}", "\\\\u{61}", "[]a]", "[^]")) {
            assertRefused("/properties/p/pattern", "{\"properties\":{\"p\":{\"type\":\"string\",\"pattern\":\"" + pattern
                    + "\"}}}");
        }
        assertRefused("/pattern", "{\"type\":\"string\",\"pattern\":\"^[a-z]+$\",\"maxLength\":0}");
        assertRefused("/pattern", "{\"type\":\"string\",\"pattern\":\"^\\\\d+$\",\"format\":\"email\"}");
        assertRefused("/pattern", "{\"type\":\"string\",\"pattern\":\"^\\\\d+$\",\"format\":\"date\"}");
        assertRefused("/pattern", "{\"type\":\"string\",\"pattern\":\"^[a-z]*$\",\"maxLength\":2000000}");
        assertRefused("/format", "{\"type\":\"string\",\"format\":\"email\",\"minLength\":65}");
        assertRefused("/format", "{\"type\":\"string\",\"format\":\"ipv6\"}");
        assertRefused("/pattern", "{\"type\":\"string\",\"pattern\":7}");
        assertRefused("/propertyNames/minimum", """
                {"type":"object","propertyNames":{"type":"string","minimum":1},"additionalProperties":true}""");
        assertRefused("/propertyNames/type", """
                {"type":"object","propertyNames":{"type":"integer"},"additionalProperties":true}""");
        assertRefused("/propertyNames/anyOf", """
                {"type":"object","propertyNames":{"anyOf":[{"const":"a"}]},"additionalProperties":true}""");
        assertRefused("/propertyNames", """
                {"type":"object","properties":{"Name":{"type":"string"}},"propertyNames":{"pattern":"^[a-z]+$"}}""");
        assertRefused("/propertyNames/pattern", """
                {"type":"object","propertyNames":{"pattern":"(?=x)"},"additionalProperties":true}""");
    }

    private static void assertRefused(String pointer, String schema) {
        var refused = assertThrows(SchemaException.class, () -> StructuredOutput.compile(SchemaCheck.json(schema), SIM),
                schema);
        assertEquals(pointer, refused.pointer(), refused.getMessage());
    }
}
