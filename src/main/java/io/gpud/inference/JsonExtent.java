package io.gpud.inference;

/**
 * Finds where one JSON object or array ends in text that arrives in pieces, by matching
 * brackets outside strings; it does not validate the value (the caller parses it once it has
 * ended). Each {@link #scan} continues where the last stopped, so a value of n characters
 * costs O(n) however it is split.
 */
final class JsonExtent {
    /** {@link #scan}: the value has not ended yet. */
    static final int MORE = -1;
    /** {@link #scan}: the text cannot be the value looked for. */
    static final int INVALID = -2;
    private static final int MAX_DEPTH = 1000;

    private final boolean keyOrObjectFirst;
    private final StringBuilder open = new StringBuilder(); // the closers awaited, innermost last
    private int position;
    private int significant;
    private boolean inString;
    private boolean escaped;

    /**
     * @param start            where the value's opening bracket is
     * @param keyOrObjectFirst whether the value must begin {@code {"} or {@code [{} (a call
     *                         object, or an array of them), so that other text is given up at once
     */
    JsonExtent(int start, boolean keyOrObjectFirst) {
        this.position = start;
        this.keyOrObjectFirst = keyOrObjectFirst;
    }

    /**
     * Scans {@code text} up to {@code limit} characters.
     *
     * @return the index just past the value's closing bracket, {@link #MORE}, or {@link #INVALID}
     *         (also when the value has not ended within {@code limit} characters)
     */
    int scan(CharSequence text, int limit) {
        int end = Math.min(text.length(), limit);
        for (; position < end; position++) {
            char c = text.charAt(position);
            if (inString) {
                if (escaped) {
                    escaped = false;
                } else if (c == '\\') {
                    escaped = true;
                } else if (c == '"') {
                    inString = false;
                }
                continue;
            }
            if (Character.isWhitespace(c)) {
                continue;
            }
            significant++;
            if (significant == 1 && c != '{' && c != '[') {
                return INVALID;
            }
            if (significant == 2 && keyOrObjectFirst && c != (open.charAt(0) == '}' ? '"' : '{')) {
                return INVALID;
            }
            switch (c) {
                case '"' -> inString = true;
                case '{' -> open.append('}');
                case '[' -> open.append(']');
                case '}', ']' -> {
                    if (open.charAt(open.length() - 1) != c) {
                        return INVALID;
                    }
                    open.setLength(open.length() - 1);
                    if (open.isEmpty()) {
                        return ++position;
                    }
                }
                default -> {
                }
            }
            if (open.length() > MAX_DEPTH) {
                return INVALID;
            }
        }
        return position >= limit ? INVALID : MORE;
    }
}
