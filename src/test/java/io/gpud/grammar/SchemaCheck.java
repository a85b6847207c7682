package io.gpud.grammar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.networknt.schema.Error;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.util.List;

/**
 * Checks a document against its schema with an independent validator (networknt's, formats
 * asserted), the way a client's own validation would. A null schema means "any object".
 */
final class SchemaCheck {
    static final JsonMapper JSON = new JsonMapper();
    private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);

    private SchemaCheck() {
    }

    static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }

    /** Parses {@code document} strictly (one value, nothing after it) and validates it. */
    static void assertValid(JsonNode schema, String document) {
        JsonNode value;
        try (var parser = JSON.createParser(document)) {
            value = JSON.readTree(parser);
            if (parser.nextToken() != null) {
                fail("text after the document: " + document);
            }
        } catch (java.io.IOException e) {
            throw new AssertionError("document does not parse: " + document, e);
        }
        JsonNode effective = schema == null ? json("{\"type\":\"object\"}") : schema;
        List<Error> errors = REGISTRY.getSchema(effective).validate(value,
                context -> context.executionConfig(config -> config.formatAssertionsEnabled(true)));
        assertEquals(List.of(), errors, "document " + document + " against " + effective);
    }
}
