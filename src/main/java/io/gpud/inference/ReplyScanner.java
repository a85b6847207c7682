package io.gpud.inference;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.inference.ReplyFormat.ReplyEvent;
import io.gpud.inference.ReplyFormat.ReplyEvent.Content;
import io.gpud.inference.ReplyFormat.ReplyEvent.Thinking;
import io.gpud.inference.ReplyFormat.ReplyEvent.ToolCall;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Splits one reply into reasoning, content and tool calls as its text arrives.
 *
 * <h2>Design</h2>
 * The reply moves through phases: an optional opening where {@code <think>} may begin it,
 * the reasoning up to {@code </think>}, the answer, and calls inside the answer. Text not yet
 * consumed stays in {@link #pending}; each phase consumes what is settled and leaves the
 * rest. What is held back is only what could still change meaning: the end of the text while
 * it is a proper prefix of a tag ({@code <think>}, {@code </think>}, the syntax's marker), the
 * whitespace before a possible {@code </think>} (reasoning is trimmed), and a call while it is
 * being read — at most {@link #MAX_CALL_CHARS} characters, after which it is given up as text.
 * Every decision depends on the text alone, never on where it was split, so a reply pushed in
 * one piece and the same reply pushed a character at a time give the same events (joined).
 *
 * <p>A call that does not parse (bad JSON, a shape other than {@code name} with an object of
 * {@code arguments} or {@code parameters}) is returned as content, marker and all: the reader
 * sees what the model wrote. A call naming a function the request did not offer is returned
 * as a call, as OpenAI and vLLM do; the client knows its tools and can answer with an error.
 */
final class ReplyScanner implements ReplyFormat.ReplyParser {
    /** The longest call the scanner holds back; a longer one is passed on as text. */
    static final int MAX_CALL_CHARS = 1 << 20;
    static final String THINK_OPEN = "<think>";
    static final String THINK_CLOSE = "</think>";
    private static final String ARGS = "[ARGS]";
    private static final int MAX_NAME_CHARS = 256;
    private static final Set<String> CALL_KEYS = Set.of("name", "arguments", "parameters", "id", "type");
    /** Strict JSON: no duplicate keys, nothing after the value, numbers kept exactly as written. */
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
            .build();

    private enum Phase { OPENING, THINKING, ANSWER, CALL, FINISHED }

    private final ToolSyntax syntax;
    private final StringBuilder pending = new StringBuilder();
    private final List<ReplyEvent> events = new ArrayList<>();
    private Phase phase;
    /** Whitespace at the start of the current section is dropped (after a tag or a call). */
    private boolean trimLeading;
    /** A call may begin here with the syntax's bare opener (the answer's start, or after a Llama call). */
    private boolean bareCallMayStart = true;
    /** Since a call: {@code ;} separates Llama calls and is dropped with the whitespace. */
    private boolean afterCall;
    // the call being read, which begins at pending[0]
    private int callBodyStart;
    private int closerSearchFrom;
    private JsonExtent extent;

    /**
     * @param syntax          the tool-call syntax to look for ({@link ToolSyntax#NONE} when no tools were offered)
     * @param thinking        whether the model opens its reply with a {@code <think>} section
     * @param insideThinking  whether the prompt already opened that section
     */
    ReplyScanner(ToolSyntax syntax, boolean thinking, boolean insideThinking) {
        this.syntax = syntax;
        this.phase = insideThinking ? Phase.THINKING : thinking ? Phase.OPENING : Phase.ANSWER;
        this.trimLeading = insideThinking;
    }

    @Override
    public List<ReplyEvent> push(String text) {
        if (phase == Phase.FINISHED) {
            throw new IllegalStateException("the reply was already finished");
        }
        pending.append(text);
        return drain(false);
    }

    @Override
    public List<ReplyEvent> finish() {
        if (phase == Phase.FINISHED) {
            throw new IllegalStateException("the reply was already finished");
        }
        List<ReplyEvent> last = drain(true);
        phase = Phase.FINISHED;
        return last;
    }

    private List<ReplyEvent> drain(boolean end) {
        boolean moved;
        do {
            moved = switch (phase) {
                case OPENING -> opening(end);
                case THINKING -> thinking(end);
                case ANSWER -> answer(end);
                case CALL -> call(end);
                case FINISHED -> false;
            };
        } while (moved);
        var out = List.copyOf(events);
        events.clear();
        return out;
    }

    /** Before anything else: does the reply open a reasoning section? */
    private boolean opening(boolean end) {
        int first = firstNonWhitespace(0);
        if (first < pending.length() && startsWith(first, THINK_OPEN)) {
            pending.delete(0, first + THINK_OPEN.length());
            phase = Phase.THINKING;
            trimLeading = true;
            return true;
        }
        if (!end && THINK_OPEN.startsWith(pending.substring(first))) {
            return false;
        }
        phase = Phase.ANSWER;
        return true;
    }

    private boolean thinking(boolean end) {
        if (!dropLeadingWhitespace(end)) {
            return false;
        }
        int close = pending.indexOf(THINK_CLOSE);
        if (close >= 0) {
            emit(new Thinking(pending.substring(0, close).stripTrailing()));
            pending.delete(0, close + THINK_CLOSE.length());
            phase = Phase.ANSWER;
            trimLeading = true;
            return true;
        }
        int settled = end ? pending.length() : pending.length() - heldPrefix(THINK_CLOSE);
        while (settled > 0 && Character.isWhitespace(pending.charAt(settled - 1))) {
            settled--;
        }
        emit(new Thinking(pending.substring(0, settled)));
        pending.delete(0, end ? pending.length() : settled);
        return false;
    }

    private boolean answer(boolean end) {
        if (!dropLeadingWhitespace(end)) {
            return false;
        }
        if (syntax == ToolSyntax.NONE) {
            emit(new Content(pending.toString()));
            pending.setLength(0);
            return false;
        }
        if (bareCallMayStart && syntax.bareOpener != '\0') {
            int first = firstNonWhitespace(0);
            if (first == pending.length() && !end) {
                return false;
            }
            bareCallMayStart = false;
            if (first < pending.length() && pending.charAt(first) == syntax.bareOpener) {
                startCall(0);
                return true;
            }
        }
        int marker = pending.indexOf(syntax.marker);
        if (marker >= 0) {
            emit(new Content(pending.substring(0, marker)));
            pending.delete(0, marker);
            startCall(syntax.marker.length());
            return true;
        }
        int settled = end ? pending.length() : pending.length() - heldPrefix(syntax.marker);
        emit(new Content(pending.substring(0, settled)));
        pending.delete(0, settled);
        return false;
    }

    /** Drops the whitespace a section starts with; false while that is all there is. */
    private boolean dropLeadingWhitespace(boolean end) {
        if (!trimLeading) {
            return true;
        }
        int i = 0;
        while (i < pending.length() && (Character.isWhitespace(pending.charAt(i))
                || (afterCall && syntax == ToolSyntax.LLAMA_JSON && pending.charAt(i) == ';'))) {
            i++;
        }
        pending.delete(0, i);
        if (pending.isEmpty() && !end) {
            return false;
        }
        trimLeading = false;
        afterCall = false;
        return true;
    }

    private void startCall(int bodyStart) {
        phase = Phase.CALL;
        callBodyStart = bodyStart;
        closerSearchFrom = bodyStart;
        extent = null;
    }

    /** Reads the call at the start of {@link #pending}; false while more text is needed. */
    private boolean call(boolean end) {
        int first = firstNonWhitespace(callBodyStart);
        if (first == pending.length()) {
            return end && notACall();
        }
        return syntax.closer != null ? taggedCall(first, end) : jsonCall(first, end);
    }

    /** A call between {@link ToolSyntax#marker} and {@link ToolSyntax#closer} (Hermes). */
    private boolean taggedCall(int first, boolean end) {
        if (pending.charAt(first) != '{') {
            return notACall();
        }
        int close = pending.indexOf(syntax.closer, closerSearchFrom);
        if (close >= 0 && close + syntax.closer.length() <= MAX_CALL_CHARS) {
            return called(close + syntax.closer.length(), parseCalls(pending.substring(first, close), null));
        }
        if (pending.length() >= MAX_CALL_CHARS) {
            return notACall();
        }
        if (end) {
            // the reply ended before the closing tag (a stop sequence, or the length limit)
            return called(pending.length(), parseCalls(pending.substring(first), null));
        }
        closerSearchFrom = Math.max(callBodyStart, pending.length() - syntax.closer.length() + 1);
        return false;
    }

    /** A call that is one JSON value (Llama, Mistral), or Mistral's {@code name[ARGS]{...}}. */
    private boolean jsonCall(int first, boolean end) {
        String name = null;
        int valueStart = first;
        char c = pending.charAt(first);
        if (syntax == ToolSyntax.MISTRAL && c != '[') {
            int n = first;
            while (n < pending.length() && n - first <= MAX_NAME_CHARS && isNameChar(pending.charAt(n))) {
                n++;
            }
            if (n == first || n - first > MAX_NAME_CHARS) {
                return notACall();
            }
            String rest = pending.substring(n, Math.min(pending.length(), n + ARGS.length()));
            if (!rest.equals(ARGS)) {
                return !end && ARGS.startsWith(rest) ? false : notACall();
            }
            name = pending.substring(first, n);
            valueStart = firstNonWhitespace(n + ARGS.length());
            if (valueStart == pending.length()) {
                return end && notACall();
            }
        } else if (c != syntax.bareOpener) {
            return notACall();
        }
        if (extent == null) {
            extent = new JsonExtent(valueStart, name == null);
        }
        int valueEnd = extent.scan(pending, MAX_CALL_CHARS);
        if (valueEnd == JsonExtent.INVALID || (valueEnd == JsonExtent.MORE && end)) {
            return notACall();
        }
        if (valueEnd == JsonExtent.MORE) {
            return false;
        }
        return called(valueEnd, parseCalls(pending.substring(valueStart, valueEnd), name));
    }

    /** The text read as a call is not one: its marker is content, and what follows is read as the answer. */
    private boolean notACall() {
        emit(new Content(pending.substring(0, callBodyStart)));
        pending.delete(0, callBodyStart);
        phase = Phase.ANSWER;
        bareCallMayStart = false;
        return true;
    }

    /** The call ends at {@code end}: its events, or its text as content where it did not parse. */
    private boolean called(int end, List<ToolCall> calls) {
        if (calls == null) {
            emit(new Content(pending.substring(0, end)));
            bareCallMayStart = false;
        } else {
            calls.forEach(this::emit);
            trimLeading = true;
            afterCall = true;
            bareCallMayStart = syntax == ToolSyntax.LLAMA_JSON;
        }
        pending.delete(0, end);
        phase = Phase.ANSWER;
        return true;
    }

    /**
     * The calls {@code json} holds: an object (or, in Mistral's syntax, an array of objects)
     * with a {@code name} and an object of {@code arguments} or {@code parameters}, or, given
     * {@code name}, the arguments object alone; null where it is anything else.
     */
    private List<ToolCall> parseCalls(String json, String name) {
        JsonNode value;
        try {
            value = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            return null;
        }
        if (name != null) {
            return value instanceof ObjectNode arguments ? List.of(toolCall(name, arguments)) : null;
        }
        if (value instanceof ObjectNode object) {
            ToolCall call = toolCall(object);
            return call == null ? null : List.of(call);
        }
        if (!value.isArray() || value.isEmpty() || syntax != ToolSyntax.MISTRAL) {
            return null;
        }
        var calls = new ArrayList<ToolCall>();
        for (JsonNode element : value) {
            ToolCall call = element instanceof ObjectNode object ? toolCall(object) : null;
            if (call == null) {
                return null;
            }
            calls.add(call);
        }
        return calls;
    }

    private ToolCall toolCall(ObjectNode call) {
        var keys = new ArrayList<String>();
        call.fieldNames().forEachRemaining(keys::add);
        JsonNode name = call.get("name");
        JsonNode type = call.get("type");
        JsonNode id = call.get("id");
        if (!CALL_KEYS.containsAll(keys) || name == null || !name.isTextual() || name.asText().isEmpty()
                || (call.has("arguments") == call.has("parameters"))
                || (type != null && !type.asText().equals("function")) || (id != null && !id.isTextual())) {
            return null;
        }
        JsonNode arguments = call.has("arguments") ? call.get("arguments") : call.get("parameters");
        if (arguments.isTextual()) {
            // some models write the arguments as a string of JSON, as the OpenAI API carries them
            try {
                arguments = JSON.readTree(arguments.asText());
            } catch (JsonProcessingException e) {
                return null;
            }
        }
        return arguments instanceof ObjectNode object ? toolCall(name.asText(), object) : null;
    }

    private ToolCall toolCall(String name, ObjectNode arguments) {
        return new ToolCall(syntax.newCallId(), name, arguments.toString());
    }

    private void emit(ReplyEvent event) {
        String text = switch (event) {
            case Content c -> c.text();
            case Thinking t -> t.text();
            case ToolCall c -> null;
        };
        if (text != null && text.isEmpty()) {
            return;
        }
        ReplyEvent last = events.isEmpty() ? null : events.getLast();
        if (last instanceof Content c && event instanceof Content next) {
            events.set(events.size() - 1, new Content(c.text() + next.text()));
        } else if (last instanceof Thinking t && event instanceof Thinking next) {
            events.set(events.size() - 1, new Thinking(t.text() + next.text()));
        } else {
            events.add(event);
        }
    }

    /** The length of the longest end of {@link #pending} that {@code tag} starts with, shorter than the tag. */
    private int heldPrefix(String tag) {
        for (int length = Math.min(tag.length() - 1, pending.length()); length > 0; length--) {
            if (startsWith(pending.length() - length, tag.substring(0, length))) {
                return length;
            }
        }
        return 0;
    }

    private int firstNonWhitespace(int from) {
        int i = from;
        while (i < pending.length() && Character.isWhitespace(pending.charAt(i))) {
            i++;
        }
        return i;
    }

    private boolean startsWith(int at, String text) {
        return pending.length() - at >= text.length() && pending.substring(at, at + text.length()).equals(text);
    }

    private static boolean isNameChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'
                || c == '.';
    }
}
