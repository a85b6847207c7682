package io.gpud.grammar;

/** A JSON Schema that structured output cannot enforce, naming where. */
public final class SchemaException extends IllegalArgumentException {
    private final String pointer;

    public SchemaException(String pointer, String message) {
        super(message);
        this.pointer = pointer;
    }

    /** The JSON pointer of the offending keyword within the schema, e.g. {@code /properties/age/format}. */
    public String pointer() {
        return pointer;
    }
}
