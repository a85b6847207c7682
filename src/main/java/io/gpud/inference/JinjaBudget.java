package io.gpud.inference;

/**
 * What one render of a chat template may spend. The template comes from a model file and
 * its variables from a request, so neither may decide how long a render runs, how much it
 * allocates or how deep it recurses:
 *
 * <ul>
 *   <li><b>Steps.</b> Rendering a statement, evaluating an expression and one turn of a loop
 *       are a step each; a builtin that builds or scans text or a list spends a step per
 *       character or item it builds or scans (a concatenation, a join, {@code tojson}, a
 *       slice, the text a template prints). Past {@code maxSteps} the render stops. Since
 *       every string and list a render builds is paid for before it is built, the steps
 *       bound both its time (a step is some tens of nanoseconds at most) and everything it
 *       allocates (at most a few bytes a step): a string doubled in a loop, an
 *       {@code indent(10**9)}, a loop over {@code range(10**6)} inside another stop with the
 *       same clear error.</li>
 *   <li><b>Depth.</b> Statements, expressions and macro calls may nest at most
 *       {@value #MAX_DEPTH} deep while they evaluate, so a chain of 200,000 {@code +}, a macro
 *       that calls itself or a {@code caller()} that calls its macro end with an error well
 *       before the thread's stack does, even on a virtual thread. Values (lists and mappings,
 *       from the request or built by the template) may nest at most {@value #MAX_VALUE_DEPTH}
 *       deep where they are copied or written out, which also stops a namespace that
 *       contains itself.</li>
 * </ul>
 *
 * <p>Running out is an {@link IllegalArgumentException} naming the limit: a request gets 400,
 * a model whose template cannot render a sample conversation falls back to the plain
 * template. One budget serves one render, on one thread.
 */
final class JinjaBudget {

    /**
     * How deep statements, expressions and macro calls may nest during a render. Real
     * templates nest some tens deep (a recursive macro over a tool's JSON schema takes about
     * five per level of the schema). A level costs the evaluator a few stack frames: with
     * the code compiled hot, 900 levels still fit a virtual thread's default 1 MiB stack.
     */
    static final int MAX_DEPTH = 500;
    /**
     * How deep lists and mappings may nest: four times a request body's default JSON depth
     * ({@code api.maxJsonDepth}: 64). Writing JSON costs two stack frames a level, and hot
     * compiled frames are large: 500 levels fit a 1 MiB stack, 1,000 do not.
     */
    static final int MAX_VALUE_DEPTH = 256;

    private final long maxSteps;
    private long steps;
    private int depth;

    JinjaBudget(long maxSteps) {
        this.maxSteps = maxSteps;
    }

    /** Spends {@code count} steps; past the budget, the render is refused. */
    void spend(long count) {
        if (count > maxSteps - steps) {
            throw new IllegalArgumentException("the chat template took more than " + maxSteps
                    + " steps (statements, expressions, loop turns and characters or items built)");
        }
        steps += count;
    }

    /** Steps left: the most characters a value may still be built with. */
    long left() {
        return maxSteps - steps;
    }

    /** One level deeper, and a step; pair with {@link #exit()}. */
    void enter() {
        spend(1);
        if (depth >= MAX_DEPTH) {
            throw new IllegalArgumentException("the chat template nests more than " + MAX_DEPTH
                    + " deep (statements, expressions and macro calls together)");
        }
        depth++;
    }

    void exit() {
        depth--;
    }

    /** Refuses a value nested deeper than {@link #MAX_VALUE_DEPTH}. */
    static void checkValueDepth(int depth) {
        if (depth > MAX_VALUE_DEPTH) {
            throw new IllegalArgumentException("a value nests more than " + MAX_VALUE_DEPTH
                    + " deep (or contains itself)");
        }
    }
}
