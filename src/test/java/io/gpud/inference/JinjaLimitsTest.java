package io.gpud.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.inference.ChatTemplate.Conversation;
import io.gpud.inference.ChatTemplate.Message;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Templates and template variables written to hurt: each gets a clear
 * {@link IllegalArgumentException} (a 400 for a request, a fallback to the plain template
 * for a model), never a stack overflow, an exhausted heap, a hung thread or another
 * exception type. Renders run on a virtual thread, as request handlers do.
 */
class JinjaLimitsTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final List<Message> HI = List.of(new Message("user", "hi"));

    @Test
    void deeplyNestedTemplateSourceIsASyntaxErrorAndTheModelFallsBackToPlain() {
        String parentheses = "{{ " + "(".repeat(100_000) + "1" + ")".repeat(100_000) + " }}";
        String blocks = "{%if 1%}".repeat(50_000) + "x" + "{%endif%}".repeat(50_000);
        String negations = "{{ " + "not ".repeat(100_000) + "true }}";
        String signs = "{{ " + "-".repeat(100_000) + "1 }}";
        for (String template : List.of(parentheses, blocks, negations, signs)) {
            var e = assertThrows(IllegalArgumentException.class, () -> onVirtualThread(
                    () -> new JinjaChatTemplate(template, null, null)));
            assertTrue(e.getMessage().contains("nests more than"), e.getMessage());
            assertInstanceOf(PlainChatTemplate.class, onVirtualThread(
                    () -> JinjaChatTemplate.orPlain(template, null, null, "m")));
        }
    }

    @Test
    void longOperatorChainsAreRefusedWhenRendered() {
        for (String template : List.of("{{ 1" + " + 1".repeat(200_000) + " }}",
                "{{ 'a'" + "|trim".repeat(200_000) + " }}", "{{ x" + ".a".repeat(200_000) + " }}")) {
            var parsed = onVirtualThread(() -> new JinjaChatTemplate(template, null, null));
            var e = assertThrows(IllegalArgumentException.class, () -> onVirtualThread(() -> parsed.render(HI, true)));
            assertTrue(e.getMessage().contains("nests more than"), e.getMessage());
        }
    }

    @Test
    void nestingThatRealTemplatesUseRendersOnAVirtualThread() {
        String template = "{{ " + "(".repeat(90) + "1" + ")".repeat(90) + " }}"
                + "{% for m in messages %}".repeat(60) + "." + "{% endfor %}".repeat(60)
                + "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% else %}!{% endif %}{% endmacro %}{{ f(40) }}";
        assertEquals("1.!", onVirtualThread(() -> new JinjaChatTemplate(template, null, null).render(HI, true)));
    }

    @Test
    void aMacroThatCallsItselfForeverIsRefused() {
        var template = new JinjaChatTemplate("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", null, null);
        var e = assertThrows(IllegalArgumentException.class, () -> onVirtualThread(() -> template.render(HI, true)));
        assertTrue(e.getMessage().contains("nests more than"), e.getMessage());
        var caller = new JinjaChatTemplate(
                "{% macro f() %}{% call f() %}x{% endcall %}{{ caller() }}{% endmacro %}{{ f() }}", null, null);
        assertThrows(IllegalArgumentException.class, () -> onVirtualThread(() -> caller.render(HI, true)));
    }

    @Test
    void requestValuesNestedTenThousandDeepAreRefused() {
        Object deep = "leaf";
        for (int i = 0; i < 10_000; i++) {
            deep = i % 2 == 0 ? List.of(deep) : Map.of("k", deep);
        }
        var template = new JinjaChatTemplate("{{ tools | tojson }}{{ depth | tojson }}", null, null);
        var tools = new Conversation(HI, List.of(Map.of("type", "function", "function", deep)), Map.of());
        var kwargs = new Conversation(HI, List.of(), Map.of("depth", deep));
        for (Conversation conversation : List.of(tools, kwargs)) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> onVirtualThread(() -> template.render(conversation, true)));
            assertTrue(e.getMessage().contains("nests more than"), e.getMessage());
        }
        Object allowed = 1L;
        for (int i = 0; i < JinjaBudget.MAX_VALUE_DEPTH - 2; i++) {
            allowed = List.of(allowed);
        }
        var options = new Conversation(HI, List.of(), Map.of("depth", allowed));
        String json = onVirtualThread(() -> template.render(options, true));
        assertTrue(json.endsWith("[1" + "]".repeat(JinjaBudget.MAX_VALUE_DEPTH - 2)), json);
    }

    @Test
    void aValueThatContainsItselfIsRefusedWhenWritten() {
        for (String template : List.of("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}",
                "{% set ns = namespace() %}{% set ns.l = [ns] %}{{ ns | tojson }}",
                "{% set ns = namespace() %}{% set ns.l = [1] %}{% for i in range(10000) %}{% set ns.l = [ns.l] %}"
                        + "{% endfor %}{{ 'x' ~ ns.l }}")) {
            var parsed = new JinjaChatTemplate(template, null, null);
            var e = assertThrows(IllegalArgumentException.class, () -> onVirtualThread(() -> parsed.render(HI, true)));
            assertTrue(e.getMessage().contains("nests more than"), e.getMessage());
        }
    }

    @Test
    void endlessWorkIsCutOffByTheStepBudget() {
        var template = new JinjaChatTemplate(
                "{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}", null, null);
        var e = assertThrows(IllegalArgumentException.class, () -> onVirtualThread(() -> template.render(HI, true)));
        assertTrue(e.getMessage().contains("steps"), e.getMessage());
        assertInstanceOf(PlainChatTemplate.class, onVirtualThread(() -> JinjaChatTemplate.orPlain(
                "{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}", null, null, "m")));
    }

    @Test
    void hugeStringsAreRefusedBeforeTheyAreBuilt() {
        for (String template : List.of(
                "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
                "{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
                "{{ 'a\nb' | indent(1000000000) }}",
                "{{ 'a\nb' | indent(10000000000) }}",
                "{{ [1, 2] | tojson(indent=1000000000) }}",
                "{% set s = range(100000) | join %}{{ s.replace('', s) }}",
                "{% set s = range(100000) | join %}{{ s | join(s) }}",
                "{% set s = range(100000) | join %}{{ range(100000) | join(s) }}")) {
            var parsed = new JinjaChatTemplate(template, null, null);
            var e = assertThrows(IllegalArgumentException.class, () -> onVirtualThread(() -> parsed.render(HI, true)));
            assertTrue(e.getMessage().contains("steps") || e.getMessage().contains("indent was"),
                    template + ": " + e.getMessage());
        }
    }

    @Test
    void arithmeticFailuresAreClearErrors() {
        for (String template : List.of("{{ 5 % 0 }}", "{{ 5 // 0 }}", "{{ 9223372036854775807 + 1 }}",
                "{{ -9223372036854775807 - 2 }}", "{{ 4294967296 * 4294967296 }}", "{{ 2 ** 64 }}",
                "{{ 99999999999999999999 }}", "{{ -(-9223372036854775807 - 1) }}")) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> new JinjaChatTemplate(template, null, null).render(HI, true), template);
            assertTrue(e.getMessage().contains("zero") || e.getMessage().contains("integer"),
                    template + ": " + e.getMessage());
        }
        assertEquals("Infinity -Infinity NaN", new JinjaChatTemplate(
                "{{ 1 / 0 }} {{ -1 / 0 }} {{ 0 / 0 }}", null, null).render(HI, true));
    }

    @Test
    void builtinsGivenNoneOrTheWrongTypeAreClearErrors() {
        for (String template : List.of("{{ 'a b'.split(' ', none) }}", "{{ 'a'.replace('a', 'b', []) }}",
                "{{ [1, 2] | join(none) }}", "{{ [{'a': 1}] | selectattr() }}", "{{ range(none) }}",
                "{{ 'x'[::0] }}", "{{ namespace({1: 2}) }}")) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> new JinjaChatTemplate(template, null, null).render(HI, true), template);
            assertTrue(e.getMessage().startsWith("the chat template failed"), template + ": " + e.getMessage());
        }
    }

    @Test
    void optionsCannotReplaceTheTemplatesOwnVariables() {
        var template = new JinjaChatTemplate("{{ messages[0].content }}{{ range(2) }}", null, null);
        for (String name : List.of("messages", "range", "raise_exception", "add_generation_prompt", "bos_token",
                "true", "none")) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> template.render(new Conversation(HI, List.of(), Map.of(name, "x")), true));
            assertTrue(e.getMessage().contains("'" + name + "'"), e.getMessage());
        }
        assertEquals("hi[0, 1]", template.render(new Conversation(HI, List.of(), Map.of("enable_thinking", true)),
                true));
    }

    /** Runs {@code task} on a virtual thread (a request handler's stack), within {@link #LIMIT}. */
    private static <T> T onVirtualThread(java.util.function.Supplier<T> task) {
        return assertTimeoutPreemptively(LIMIT, () -> {
            var result = new AtomicReference<T>();
            var failure = new AtomicReference<Throwable>();
            Thread thread = Thread.ofVirtual().start(() -> {
                try {
                    result.set(task.get());
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            thread.join();
            if (failure.get() instanceof RuntimeException e) {
                throw e;
            }
            if (failure.get() != null) {
                throw new AssertionError("not a clear error: " + failure.get(), failure.get());
            }
            return result.get();
        });
    }
}
