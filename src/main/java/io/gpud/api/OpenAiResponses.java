package io.gpud.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gpud.core.Ids;
import io.gpud.core.Time;
import io.gpud.inference.ChatTemplate;
import io.gpud.inference.Completion;
import io.gpud.inference.Engine;
import io.gpud.inference.FinishReason;
import io.gpud.inference.Penalties;
import io.gpud.inference.ReplyFormat;
import io.gpud.inference.ReplyFormat.ReplyEvent;
import io.gpud.inference.Sampling;
import io.gpud.inference.TokenLogprobs;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code POST /v1/responses}, OpenAI's Responses API, stateless: a request carries the whole
 * conversation in {@code input} (text, messages, {@code function_call} and
 * {@code function_call_output} items), and nothing is stored, so {@code store: true},
 * {@code previous_response_id}, {@code conversation} and {@code background} are refused by
 * name. The reply is the same chat generation as {@code /v1/chat/completions} (the model's
 * template, tools, structured output through {@code text.format}), returned as output
 * items (reasoning, message, function calls), whole or as the Responses API's stream of
 * events: {@code response.created}, {@code response.in_progress}, per item
 * {@code response.output_item.added}, {@code response.content_part.added},
 * {@code response.output_text.delta} (or {@code response.reasoning_text.delta},
 * {@code response.function_call_arguments.delta}), their {@code .done} events,
 * {@code response.output_item.done}, and last {@code response.completed} (or
 * {@code response.incomplete} when {@code max_output_tokens} ran out).
 */
final class OpenAiResponses {

    private static final ObjectMapper PLAIN = new ObjectMapper();

    /** The fields {@code /v1/responses} honours. */
    private static final Set<String> FIELDS = Set.of("model", "input", "instructions", "max_output_tokens",
            "temperature", "top_p", "stream", "tools", "tool_choice", "parallel_tool_calls", "text", "store",
            "metadata", "user", "safety_identifier", "reasoning", "truncation", "service_tier", "include",
            "previous_response_id", "conversation", "background");

    private final Generations generations;
    private final Time time;

    OpenAiResponses(Generations generations, Time time) {
        this.generations = generations;
        this.time = time;
    }

    // ---- what the API returns ----

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record OutputText(String type, String text, List<Object> annotations) {
        static OutputText of(String text) {
            return new OutputText("output_text", text, List.of());
        }
    }

    record ReasoningText(String type, String text) {
    }

    record MessageItem(String type, String id, String status, String role, List<OutputText> content) {
    }

    record FunctionCallItem(String type, String id, String callId, String name, String arguments, String status) {
    }

    record ReasoningItem(String type, String id, List<Object> summary, List<ReasoningText> content) {
    }

    record InputTokensDetails(int cachedTokens) {
    }

    record Usage(int inputTokens, InputTokensDetails inputTokensDetails, int outputTokens, int totalTokens) {
        static Usage of(Completion c) {
            return new Usage(c.promptTokens(), new InputTokensDetails(c.cachedTokens()), c.completionTokens(),
                    c.promptTokens() + c.completionTokens());
        }
    }

    record IncompleteDetails(String reason) {
    }

    record Format(String type) {
    }

    record Reasoning(String effort, String summary) {
    }

    /** The response object; {@code status} {@code in_progress}, {@code completed} or {@code incomplete}. */
    record Response(String id, String object, long createdAt, String status, Object error,
                    IncompleteDetails incompleteDetails, String instructions, Integer maxOutputTokens, String model,
                    List<Object> output, boolean parallelToolCalls, String previousResponseId, Reasoning reasoning,
                    boolean store, double temperature, Map<String, Object> text, Object toolChoice,
                    List<Object> tools, double topP, String truncation, Usage usage, String user,
                    Map<String, String> metadata) {
    }

    /**
     * A request, read and checked.
     *
     * @param params   the generation
     * @param tools    how the model may call tools
     * @param stream   answer as a stream of events
     * @param echo     what the response object repeats of the request
     * @param user     the end user named ({@code safety_identifier}, else {@code user}), or null
     */
    private record Request(Generations.Params params, OpenAiRequests.Tools tools, boolean stream, Echo echo,
                           String user) {
    }

    /** What a response repeats of its request. */
    private record Echo(String instructions, Integer maxOutputTokens, double temperature, double topP,
                        boolean parallelToolCalls, Object toolChoice, List<Object> tools, Map<String, Object> text,
                        String effort, String user, Map<String, String> metadata) {
    }

    // ---- the route ----

    void create(ServerRequest req, ServerResponse res, ObjectNode body, long[] prefixNames) {
        long start = time.nanos();
        Request r = request(body, prefixNames);
        String id = Ids.random("resp_", 24);
        long created = time.instant().getEpochSecond();
        try (Choices choices = Choices.start(generations, r.params(), 1, true, start, r.user())) {
            Generations.Started started = choices.get(0);
            if (!r.stream()) {
                var items = new Items(id, null);
                ChatReplies.Ended ended = ChatReplies.drive(generations, started, r.tools(), items);
                choices.finished(0);
                items.closeWhole();
                Responses.json(res, 200, response(id, created, started.model(), r, ended.completion(), items.output));
                return;
            }
            var out = Responses.Stream.sse(res);
            var events = new Events(out);
            try (out) {
                try {
                    events.send("response.created", Map.of("response", response(id, created, started.model(), r,
                            null, List.of())));
                    events.send("response.in_progress", Map.of("response", response(id, created, started.model(),
                            r, null, List.of())));
                    var items = new Items(id, events);
                    ChatReplies.Ended ended = ChatReplies.drive(generations, started, r.tools(), items);
                    if (ended == null) {
                        return;
                    }
                    choices.finished(0);
                    items.close();
                    Response done = response(id, created, started.model(), r, ended.completion(), items.output);
                    events.send(done.status().equals("completed") ? "response.completed" : "response.incomplete",
                            Map.of("response", done));
                } catch (RuntimeException e) {
                    ApiException failure = Errors.classify(e);
                    var error = new LinkedHashMap<String, Object>();
                    error.put("code", failure.code());
                    error.put("message", failure.getMessage());
                    error.put("param", failure.param());
                    events.send("error", error);
                }
            } catch (IOException gone) {
                // the client went away; closing the choices cancels the generation
            }
        }
    }

    private static Response response(String id, long created, String model, Request r, Completion c,
                                     List<Object> output) {
        String status = c == null ? "in_progress"
                : c.finishReason() == FinishReason.LENGTH ? "incomplete" : "completed";
        Echo e = r.echo();
        return new Response(id, "response", created, status, null,
                status.equals("incomplete") ? new IncompleteDetails("max_output_tokens") : null, e.instructions(),
                e.maxOutputTokens(), model, output, e.parallelToolCalls(), null, new Reasoning(e.effort(), null), false,
                e.temperature(), e.text(), e.toolChoice(), e.tools(), e.topP(), "disabled",
                c == null ? null : Usage.of(c), e.user(), e.metadata());
    }

    /** Numbers each streamed event and writes it with its type as the event name. */
    private static final class Events {
        private final Responses.Stream out;
        private int sequence;

        Events(Responses.Stream out) {
            this.out = out;
        }

        void send(String type, Map<String, Object> fields) throws IOException {
            var event = new LinkedHashMap<String, Object>();
            event.put("type", type);
            event.putAll(fields);
            event.put("sequence_number", sequence++);
            out.sendEvent(type, event);
        }
    }

    /**
     * Turns a reply's events into output items, and, when streaming, into the events that
     * open, fill and close each item. Reasoning and text each fill one item until the other
     * kind (or a tool call) arrives; a tool call is one whole item.
     */
    private static final class Items implements ChatReplies.Sink {
        private final String responseId;
        private final Events events;
        final List<Object> output = new ArrayList<>();
        private String openKind;
        private String openId;
        private final StringBuilder openText = new StringBuilder();

        Items(String responseId, Events events) {
            this.responseId = responseId;
            this.events = events;
        }

        @Override
        public void piece(List<ReplyEvent> pieces, List<TokenLogprobs> logprobs)
                throws IOException {
            for (ReplyEvent e : pieces) {
                switch (e) {
                    case ReplyEvent.Content t -> text("message", t.text());
                    case ReplyEvent.Thinking t -> text("reasoning", t.text());
                    case ReplyEvent.ToolCall call -> {
                        close();
                        var item = new FunctionCallItem("function_call", "fc_" + Ids.random("", 24), call.id(),
                                call.name(), call.arguments(), "completed");
                        int index = output.size();
                        output.add(item);
                        if (events != null) {
                            var opened = new FunctionCallItem(item.type(), item.id(), item.callId(), item.name(), "",
                                    "in_progress");
                            events.send("response.output_item.added", Map.of("output_index", index, "item", opened));
                            events.send("response.function_call_arguments.delta", Map.of("item_id", item.id(),
                                    "output_index", index, "delta", item.arguments()));
                            events.send("response.function_call_arguments.done", Map.of("item_id", item.id(),
                                    "output_index", index, "arguments", item.arguments()));
                            events.send("response.output_item.done", Map.of("output_index", index, "item", item));
                        }
                    }
                }
            }
        }

        private void text(String kind, String text) throws IOException {
            if (!kind.equals(openKind)) {
                close();
                openKind = kind;
                openId = (kind.equals("message") ? "msg_" : "rs_") + Ids.random("", 24);
                output.add(null); // its place; the item is set when it closes
                if (events != null) {
                    int index = output.size() - 1;
                    events.send("response.output_item.added", Map.of("output_index", index, "item",
                            item(kind, openId, "in_progress", List.of())));
                    events.send("response.content_part.added", Map.of("item_id", openId, "output_index", index,
                            "content_index", 0, "part", part(kind, "")));
                }
            }
            openText.append(text);
            if (events != null) {
                events.send(kind.equals("message") ? "response.output_text.delta" : "response.reasoning_text.delta",
                        Map.of("item_id", openId, "output_index", output.size() - 1, "content_index", 0,
                                "delta", text));
            }
        }

        /** Closes the item being filled, if any, and tells the stream. */
        void close() throws IOException {
            if (openKind == null) {
                return;
            }
            String kind = openKind;
            String text = openText.toString();
            int index = closeWhole();
            if (events != null) {
                events.send(kind.equals("message") ? "response.output_text.done" : "response.reasoning_text.done",
                        Map.of("item_id", openId, "output_index", index, "content_index", 0, "text", text));
                events.send("response.content_part.done", Map.of("item_id", openId, "output_index", index,
                        "content_index", 0, "part", part(kind, text)));
                events.send("response.output_item.done", Map.of("output_index", index, "item", output.get(index)));
            }
        }

        /** Closes the item being filled, if any, without telling anyone; its index. */
        int closeWhole() {
            int index = output.size() - 1;
            if (openKind != null) {
                String text = openText.toString();
                output.set(index, item(openKind, openId, "completed", List.of(part(openKind, text))));
                openKind = null;
                openText.setLength(0);
            }
            return index;
        }

        private static Object part(String kind, String text) {
            return kind.equals("message") ? OutputText.of(text) : new ReasoningText("reasoning_text", text);
        }

        @SuppressWarnings("unchecked")
        private static Object item(String kind, String id, String status, List<Object> parts) {
            if (kind.equals("message")) {
                return new MessageItem("message", id, status, "assistant", (List<OutputText>) (List<?>) parts);
            }
            return new ReasoningItem("reasoning", id, List.of(), (List<ReasoningText>) (List<?>) parts);
        }
    }

    // ---- reading the request ----

    /** The generation a {@code /v1/responses} body asks for, as {@link #create} reads it. */
    Generations.Params params(ObjectNode body) {
        return request(body, null).params();
    }

    private Request request(ObjectNode body, long[] prefixNames) {
        refuseStateful(body);
        OpenAiRequests.refuseUnsupported(body, "", FIELDS);
        String user = OpenAiRequests.endUser(body);
        String model = Fields.requiredString(body, "model");
        String instructions = Fields.string(body, "instructions").orElse(null);
        Map<String, String> metadata = metadata(body);
        var tools = new ArrayList<Object>();
        Set<String> names = tools(body, tools);
        boolean parallel = Fields.bool(body, "parallel_tool_calls").orElse(true);
        JsonNode choice = Fields.get(body, "tool_choice").orElse(null);
        OpenAiRequests.Tools toolUse = toolChoice(choice, names, tools, parallel);
        List<ChatTemplate.Message> messages = new ArrayList<>();
        if (instructions != null) {
            messages.add(new ChatTemplate.Message("system", instructions));
        }
        messages.addAll(input(body));
        var conversation = new ChatTemplate.Conversation(messages, toolUse.offered() ? tools : List.of(), Map.of());
        Generations.Constrain format = null;
        Map<String, Object> text = Map.of("format", new Format("text"));
        ObjectNode textNode = Fields.object(body, "text").orElse(null);
        if (textNode != null) {
            Fields.refuseUnknown(textNode, "text.", Set.of("format"));
            ObjectNode formatNode = Fields.object(textNode, "format").orElse(null);
            if (formatNode != null) {
                format = textFormat(formatNode);
                text = Map.of("format", PLAIN.convertValue(formatNode, Object.class));
            }
        }
        if (format != null && toolUse.offered()) {
            throw ApiException.invalid("text.format", "'text.format' cannot hold a reply that may also be a "
                    + "function call; send 'tool_choice': 'none' to answer in the format, or leave 'text.format' out");
        }
        String effort = reasoning(body);
        if (toolUse.offered() || effort != null) {
            Engine engine = generations.engine(model);
            ReplyFormat replies = ReplyFormat.of(engine.chatTemplate());
            if (toolUse.offered() && !replies.supportsTools()) {
                throw ApiException.invalid("tools", "the model '" + model + "' has no tool calling in its chat "
                        + "template, so its replies cannot carry function calls; leave 'tools' out");
            }
            conversation = OpenAiRequests.withReasoningEffort(conversation, effort, "reasoning.effort", replies, model);
        }
        Fields.string(body, "truncation").ifPresent(t -> {
            if (!t.equals("disabled")) {
                throw ApiException.invalid("truncation", "'truncation' was '" + t + "'; only 'disabled' is "
                        + "supported: a conversation longer than the model's context is refused, never cut");
            }
        });
        Fields.get(body, "include").ifPresent(include -> {
            if (!include.isArray() || !include.isEmpty()) {
                throw ApiException.invalid("include", "'include' asks for output this server does not produce; "
                        + "send an empty array or leave it out");
            }
        });
        var maxOutput = Fields.positive(body, "max_output_tokens");
        double temperature = Fields.temperature(body, "temperature").orElse(1.0);
        double topP = Fields.topP(body, "top_p").orElse(1.0);
        var sampling = new Sampling((float) temperature, (float) topP, 0,
                ThreadLocalRandom.current().nextLong());
        var params = new Generations.Params(model, new Generations.Prompt.Chat(conversation), "input",
                maxOutput.orElse(Generations.DEFAULT_MAX_TOKENS), sampling, List.of(),
                Penalties.NONE, -1, format != null ? format : toolUse.constraint("max_output_tokens"), prefixNames);
        Object toolChoice = choice == null ? "auto" : PLAIN.convertValue(choice, Object.class);
        var echo = new Echo(instructions, maxOutput.isPresent() ? maxOutput.getAsInt() : null, temperature, topP,
                parallel, toolChoice, PLAIN.convertValue(Fields.get(body, "tools").orElse(PLAIN.createArrayNode()),
                List.class), text, effort, Fields.string(body, "user").orElse(null), metadata);
        return new Request(params, toolUse, Fields.bool(body, "stream").orElse(false), echo, user);
    }

    /** What continuing or storing a response would need: refused, since nothing is stored. */
    private static void refuseStateful(ObjectNode body) {
        String why = "this server is stateless: responses are not stored, so send the whole conversation in 'input'";
        for (String name : List.of("previous_response_id", "conversation")) {
            if (Fields.get(body, name).isPresent()) {
                throw ApiException.invalid(name, "'" + name + "' is not supported: " + why);
            }
        }
        if (Fields.bool(body, "background").orElse(false)) {
            throw ApiException.invalid("background", "'background': true is not supported: " + why);
        }
    }

    /** {@code metadata}: at most 16 string pairs (keys up to 64 characters, values up to 512), repeated in the response. */
    private static Map<String, String> metadata(ObjectNode body) {
        ObjectNode metadata = Fields.object(body, "metadata").orElse(null);
        if (metadata == null) {
            return Map.of();
        }
        if (metadata.size() > 16) {
            throw ApiException.invalid("metadata", "'metadata' has " + metadata.size() + " keys, at most 16 are allowed");
        }
        var out = new LinkedHashMap<String, String>();
        for (var e : metadata.properties()) {
            String param = "metadata." + e.getKey();
            if (e.getKey().length() > 64) {
                throw ApiException.invalid(param, "a 'metadata' key is at most 64 characters");
            }
            if (!e.getValue().isTextual()) {
                throw Fields.wrongType(param, "a string", e.getValue());
            }
            if (e.getValue().textValue().length() > 512) {
                throw ApiException.invalid(param, "'" + param + "' is longer than 512 characters");
            }
            out.put(e.getKey(), e.getValue().textValue());
        }
        return out;
    }

    /** {@code reasoning}: {@code effort} alone; its {@code summary} is not produced. */
    private static String reasoning(ObjectNode body) {
        ObjectNode reasoning = Fields.object(body, "reasoning").orElse(null);
        if (reasoning == null) {
            return null;
        }
        Fields.refuseUnknown(reasoning, "reasoning.", Set.of("effort"));
        return OpenAiRequests.reasoningEffort(reasoning, "reasoning.effort");
    }

    /** {@code text.format}: {@code text}, {@code json_object}, or {@code json_schema} with its fields beside the type. */
    private static Generations.Constrain textFormat(ObjectNode format) {
        String type = Fields.string(format, "text.format.type", "type").orElseThrow(() ->
                ApiException.invalid("text.format.type", "'text.format.type' is required"));
        if (!type.equals("json_schema")) {
            return OpenAiRequests.responseFormat(format, "text.format", "max_output_tokens");
        }
        ObjectNode spec = format.deepCopy();
        spec.remove("type");
        return OpenAiRequests.jsonSchema(spec, "text.format", "max_output_tokens");
    }

    /** Checks the function tools ({@code {type: function, name, description, parameters, strict}}), adds them in the chat shape, and returns their names. */
    private static Set<String> tools(ObjectNode body, List<Object> definitions) {
        JsonNode tools = Fields.get(body, "tools").orElse(null);
        Set<String> names = new HashSet<>();
        if (tools == null) {
            return names;
        }
        if (!tools.isArray()) {
            throw Fields.wrongType("tools", "an array", tools);
        }
        for (int i = 0; i < tools.size(); i++) {
            String param = "tools[" + i + "]";
            if (!(tools.get(i) instanceof ObjectNode tool)) {
                throw Fields.wrongType(param, "an object", tools.get(i));
            }
            String type = Fields.string(tool, param + ".type", "type").orElseThrow(() ->
                    ApiException.invalid(param + ".type", "'" + param + ".type' is required"));
            if (!type.equals("function")) {
                throw ApiException.invalid(param + ".type", "'" + param + ".type' was '" + type
                        + "'; only function tools are supported (no hosted tools run on this server)");
            }
            Fields.refuseUnknown(tool, param + ".", Set.of("type", "name", "description", "parameters", "strict"));
            names.add(OpenAiRequests.functionFields(tool, param));
            ObjectNode function = tool.deepCopy();
            function.remove("type");
            definitions.add(Map.of("type", "function", "function", PLAIN.convertValue(function, Object.class)));
        }
        return names;
    }

    /** {@code tool_choice}: {@code auto}, {@code none}, {@code required} or {@code {type: function, name}}. */
    private static OpenAiRequests.Tools toolChoice(JsonNode choice, Set<String> names, List<Object> definitions,
                                                   boolean parallel) {
        String forced = null;
        boolean offered = !names.isEmpty();
        if (choice instanceof ObjectNode named) {
            Fields.refuseUnknown(named, "tool_choice.", Set.of("type", "name"));
            String type = Fields.string(named, "tool_choice.type", "type").orElse("");
            if (!type.equals("function")) {
                throw ApiException.invalid("tool_choice.type", "'tool_choice.type' was '" + type
                        + "'; only function tools are supported");
            }
            forced = OpenAiRequests.checkOffered(Fields.string(named, "tool_choice.name", "name").orElseThrow(() ->
                    ApiException.invalid("tool_choice.name", "'tool_choice.name' is required")), names,
                    "tool_choice.name");
        } else if (choice != null) {
            switch (OpenAiRequests.choiceWord(choice)) {
                case AUTO -> {
                }
                case NONE -> offered = false;
                case REQUIRED -> forced = "";
            }
        }
        if (forced != null && names.isEmpty()) {
            throw ApiException.invalid("tool_choice", "'tool_choice' asks for a function call but 'tools' offers none");
        }
        return offered ? new OpenAiRequests.Tools(definitions, true, forced, parallel) : OpenAiRequests.Tools.NONE;
    }

    /**
     * {@code input}: a string (one user message), or items: messages ({@code role},
     * {@code content} as a string or {@code input_text}/{@code output_text} parts),
     * {@code function_call} (joined to the assistant's turn), {@code function_call_output}
     * (a tool message) and {@code reasoning} (the next assistant turn's reasoning).
     */
    private static List<ChatTemplate.Message> input(ObjectNode body) {
        JsonNode input = Fields.get(body, "input")
                .orElseThrow(() -> ApiException.invalid("input", "'input' is required"));
        if (input.isTextual()) {
            return List.of(new ChatTemplate.Message("user", input.textValue()));
        }
        if (!input.isArray()) {
            throw Fields.wrongType("input", "a string or an array of items", input);
        }
        if (input.isEmpty()) {
            throw ApiException.invalid("input", "'input' is empty; at least one item is required");
        }
        var messages = new ArrayList<ChatTemplate.Message>();
        Map<String, String> callNames = new HashMap<>();
        String reasoning = null;
        for (int i = 0; i < input.size(); i++) {
            String param = "input[" + i + "]";
            if (!(input.get(i) instanceof ObjectNode item)) {
                throw Fields.wrongType(param, "an object", input.get(i));
            }
            String type = Fields.string(item, param + ".type", "type").orElse("message");
            switch (type) {
                case "message" -> {
                    Fields.refuseUnknown(item, param + ".", Set.of("type", "role", "content", "id", "status"));
                    String role = Fields.role(item, param);
                    String content = messageContent(item, param);
                    if (role.equals("assistant")) {
                        messages.add(new ChatTemplate.Message(role, content, List.of(), List.of(), null, reasoning));
                        reasoning = null;
                    } else {
                        messages.add(new ChatTemplate.Message(role, content));
                    }
                }
                case "function_call" -> {
                    Fields.refuseUnknown(item, param + ".", Set.of("type", "call_id", "name", "arguments", "id",
                            "status"));
                    String callId = required(item, param, "call_id");
                    String name = required(item, param, "name");
                    String arguments = required(item, param, "arguments");
                    callNames.put(callId, name);
                    var call = new ChatTemplate.ToolCall(callId, name, Fields.toolArguments(arguments));
                    ChatTemplate.Message last = messages.isEmpty() ? null : messages.getLast();
                    if (last != null && last.role().equals("assistant") && reasoning == null) {
                        var calls = new ArrayList<>(last.toolCalls());
                        calls.add(call);
                        messages.set(messages.size() - 1, new ChatTemplate.Message("assistant", last.content(),
                                last.contentParts(), calls, null, last.reasoningContent(), last.name()));
                    } else {
                        messages.add(new ChatTemplate.Message("assistant", "", List.of(), List.of(call), null,
                                reasoning));
                        reasoning = null;
                    }
                }
                case "function_call_output" -> {
                    Fields.refuseUnknown(item, param + ".", Set.of("type", "call_id", "output", "id", "status"));
                    String callId = required(item, param, "call_id");
                    String output = required(item, param, "output");
                    messages.add(new ChatTemplate.Message("tool", output, List.of(), List.of(), callId, null,
                            callNames.get(callId)));
                }
                case "reasoning" -> {
                    Fields.refuseUnknown(item, param + ".", Set.of("type", "id", "summary", "content", "status"));
                    reasoning = reasoningText(item, param);
                }
                default -> throw ApiException.invalid(param + ".type", "'" + param + ".type' was '" + type
                        + "'; input items are messages, function_call, function_call_output and reasoning"
                        + (type.equals("item_reference") ? " (nothing is stored to refer to)" : ""));
            }
        }
        return messages;
    }

    private static String required(ObjectNode item, String param, String name) {
        return Fields.string(item, param + "." + name, name).orElseThrow(() ->
                ApiException.invalid(param + "." + name, "'" + param + "." + name + "' is required"));
    }

    /** A message item's content: a string, or {@code input_text} / {@code output_text} parts, joined. */
    private static String messageContent(ObjectNode item, String param) {
        JsonNode content = Fields.get(item, "content").orElseThrow(() ->
                ApiException.invalid(param + ".content", "'" + param + ".content' is required"));
        if (content.isTextual()) {
            return content.textValue();
        }
        if (!content.isArray()) {
            throw Fields.wrongType(param + ".content", "a string or an array of content parts", content);
        }
        var text = new StringBuilder();
        for (int i = 0; i < content.size(); i++) {
            String partParam = param + ".content[" + i + "]";
            if (!(content.get(i) instanceof ObjectNode part)) {
                throw Fields.wrongType(partParam, "an object", content.get(i));
            }
            String type = Fields.string(part, partParam + ".type", "type").orElse("");
            if (!type.equals("input_text") && !type.equals("output_text")) {
                throw ApiException.invalid(partParam + ".type", "content part type '" + type
                        + "' is not supported; only input_text and output_text are (the models served read text)");
            }
            Fields.refuseUnknown(part, partParam + ".", Set.of("type", "text", "annotations", "logprobs"));
            text.append(required(part, partParam, "text"));
        }
        return text.toString();
    }

    /** A reasoning item's text: its {@code reasoning_text} content, else its summary's text. */
    private static String reasoningText(ObjectNode item, String param) {
        var text = new StringBuilder();
        for (String field : List.of("content", "summary")) {
            JsonNode parts = Fields.get(item, field).orElse(null);
            if (parts == null || !text.isEmpty()) {
                continue;
            }
            if (!parts.isArray()) {
                throw Fields.wrongType(param + "." + field, "an array", parts);
            }
            for (int i = 0; i < parts.size(); i++) {
                String partParam = param + "." + field + "[" + i + "]";
                if (!(parts.get(i) instanceof ObjectNode part)) {
                    throw Fields.wrongType(partParam, "an object", parts.get(i));
                }
                Fields.refuseUnknown(part, partParam + ".", Set.of("type", "text"));
                text.append(required(part, partParam, "text"));
            }
        }
        return text.toString();
    }
}
