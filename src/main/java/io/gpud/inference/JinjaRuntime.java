package io.gpud.inference;

import io.gpud.inference.JinjaParser.Expr;
import io.gpud.inference.JinjaParser.Node;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders a parsed chat template with the value semantics of {@code @huggingface/jinja}, so a
 * template gives here the text it gives under {@code @huggingface/transformers}.
 *
 * <p>Values are plain Java objects: {@code null} is {@code none}, {@link #UNDEFINED} an
 * undefined name or attribute, {@code String}, {@code Long} (integers), {@code Double}
 * (floats), {@code Boolean}, {@code List} (lists and tuples), {@code Map} (mappings, insertion
 * ordered), {@link Namespace} and {@link Function}. Where that renderer differs from
 * Python's Jinja, this follows the renderer: lists and mappings print as JSON, booleans as
 * {@code true}/{@code false}; {@code strip}, {@code lstrip} and {@code rstrip} strip
 * whitespace whatever their argument; {@code ==} compares mappings and lists by identity;
 * {@code selectattr}/{@code rejectattr} treat a missing or falsy attribute as failing the
 * test; {@code iterable} is true of strings and lists only. Integer arithmetic that leaves 64
 * bits, and integer {@code //} or {@code %} by zero, are errors rather than the renderer's
 * rounded or {@code NaN} results.
 *
 * <p>Neither the template nor its variables are trusted: a render spends from a
 * {@link JinjaBudget} (steps, which pay for time and for every string and list built, and
 * nesting depth) and stops at {@code maxOutputChars} of output, each with an
 * {@link IllegalArgumentException}. Values are only the types above: a template reaches no
 * Java object's methods or fields, only the builtins written out below.
 */
final class JinjaRuntime {

    /** An undefined value: prints as nothing, is falsy, and {@code is defined} is false of it. */
    static final Object UNDEFINED = new Object() {
        @Override
        public String toString() {
            return "undefined";
        }
    };

    /** A callable value: a global function, a macro, or a builtin method bound to its value. */
    @FunctionalInterface
    interface Function {
        Object call(List<Object> args, Map<String, Object> kwargs);
    }

    /** What {@code namespace(...)} makes: a mapping whose attributes {@code set} may assign. */
    static final class Namespace {
        final Map<String, Object> values = new LinkedHashMap<>();
    }

    /** Thrown by {@code raise_exception}: the template refuses the conversation. */
    static final class Refusal extends RuntimeException {
        Refusal(String message) {
            super(message);
        }
    }

    private static final class BreakSignal extends RuntimeException {
        BreakSignal() {
            super(null, null, false, false);
        }
    }

    private static final class ContinueSignal extends RuntimeException {
        ContinueSignal() {
            super(null, null, false, false);
        }
    }

    /** Variables of one scope; lookups fall through to the enclosing scope. */
    private static final class Scope {
        final Scope parent;
        final Map<String, Object> variables = new HashMap<>();

        Scope(Scope parent) {
            this.parent = parent;
        }

        Object lookup(String name) {
            for (Scope s = this; s != null; s = s.parent) {
                if (s.variables.containsKey(name)) {
                    return s.variables.get(name);
                }
            }
            return UNDEFINED;
        }
    }

    /**
     * Steps a loop turn costs besides its body: building {@code loop}, a mapping of nine
     * items, takes about as long as evaluating 64 small expressions, so an empty loop over
     * {@code range(10**6)} inside another ends within the budget's time too.
     */
    private static final int LOOP_TURN_STEPS = 64;

    private final long maxOutputChars;
    private final JinjaBudget budget;

    /** A runtime for one render: at most {@code maxOutputChars} of output and {@code maxSteps} steps. */
    JinjaRuntime(long maxOutputChars, long maxSteps) {
        this.maxOutputChars = maxOutputChars;
        this.budget = new JinjaBudget(maxSteps);
    }

    /** Renders {@code template} with {@code globals}; throws {@link Refusal} or {@link IllegalArgumentException}. */
    String render(List<Node> template, Map<String, Object> globals) {
        var root = new Scope(null);
        root.variables.put("namespace", (Function) JinjaRuntime::namespace);
        root.variables.put("range", (Function) this::range);
        root.variables.put("true", true);
        root.variables.put("false", false);
        root.variables.put("none", null);
        root.variables.put("True", true);
        root.variables.put("False", false);
        root.variables.put("None", null);
        root.variables.putAll(globals);
        var out = new StringBuilder();
        renderBlock(template, new Scope(root), out);
        return out.toString();
    }

    // ---- statements

    private void renderBlock(List<Node> nodes, Scope scope, StringBuilder out) {
        budget.enter();
        try {
            for (Node node : nodes) {
                render(node, scope, out);
                if (out.length() > maxOutputChars) {
                    throw new IllegalArgumentException("the chat template's output passed " + maxOutputChars
                            + " characters");
                }
            }
        } finally {
            budget.exit();
        }
    }

    private void render(Node node, Scope scope, StringBuilder out) {
        budget.spend(1);
        switch (node) {
            case JinjaParser.Text t -> append(t.text(), out);
            case JinjaParser.Output o -> {
                Object value = evaluate(o.value(), scope);
                if (value != null && value != UNDEFINED) {
                    append(print(value), out);
                }
            }
            case JinjaParser.If i -> renderBlock(truthy(evaluate(i.test(), scope)) ? i.body() : i.otherwise(), scope, out);
            case JinjaParser.For f -> renderFor(f, scope, out);
            case JinjaParser.Set s -> assign(s, scope);
            case JinjaParser.Macro m -> scope.variables.put(m.name(), macro(m, scope));
            case JinjaParser.CallBlock c -> {
                var callerScope = scope;
                Function caller = (args, kwargs) -> {
                    var inner = new Scope(callerScope);
                    bindParameters(c.callerParameters(), args, kwargs, inner, "caller");
                    var text = new StringBuilder();
                    renderBlock(c.body(), inner, text);
                    return text.toString();
                };
                var inner = new Scope(scope);
                inner.variables.put("caller", caller);
                append(print(evaluate(c.call(), inner)), out);
            }
            case JinjaParser.FilterBlock f -> {
                var text = new StringBuilder();
                renderBlock(f.body(), scope, text);
                append(print(applyFilter(text.toString(), f.filter(), scope)), out);
            }
            case JinjaParser.Break b -> throw new BreakSignal();
            case JinjaParser.Continue c -> throw new ContinueSignal();
        }
    }

    /** Appends text to a render's output (or a macro's, or a block's), paying a step a character. */
    private void append(String text, StringBuilder out) {
        budget.spend(text.length());
        out.append(text);
    }

    private void renderFor(JinjaParser.For node, Scope outer, StringBuilder out) {
        var scope = new Scope(outer);
        Object iterable = evaluate(node.iterable(), scope);
        List<Object> candidates;
        if (iterable instanceof List<?> list) {
            candidates = new ArrayList<>(list);
        } else if (iterable instanceof Map<?, ?> map) {
            candidates = new ArrayList<>(map.keySet());
        } else {
            throw new IllegalArgumentException("a for loop needs a list or a mapping, got " + typeName(iterable));
        }
        budget.spend(candidates.size());
        var items = new ArrayList<Object>();
        for (Object item : candidates) {
            if (node.filter() != null) {
                var test = new Scope(scope);
                bindTarget(node.target(), item, test);
                if (!truthy(evaluate(node.filter(), test))) {
                    continue;
                }
            }
            items.add(item);
        }
        boolean iterated = false;
        for (int i = 0; i < items.size(); i++) {
            budget.spend(LOOP_TURN_STEPS);
            var loop = new LinkedHashMap<String, Object>();
            loop.put("index", (long) i + 1);
            loop.put("index0", (long) i);
            loop.put("revindex", (long) (items.size() - i));
            loop.put("revindex0", (long) (items.size() - i - 1));
            loop.put("first", i == 0);
            loop.put("last", i == items.size() - 1);
            loop.put("length", (long) items.size());
            loop.put("previtem", i > 0 ? items.get(i - 1) : UNDEFINED);
            loop.put("nextitem", i < items.size() - 1 ? items.get(i + 1) : UNDEFINED);
            scope.variables.put("loop", loop);
            bindTarget(node.target(), items.get(i), scope);
            try {
                renderBlock(node.body(), scope, out);
            } catch (ContinueSignal e) {
                continue;
            } catch (BreakSignal e) {
                break;
            }
            iterated = true;
        }
        if (!iterated) {
            renderBlock(node.otherwise(), scope, out);
        }
    }

    private void bindTarget(Expr target, Object value, Scope scope) {
        if (target instanceof Expr.Name name) {
            scope.variables.put(name.name(), value);
            return;
        }
        var names = ((Expr.ListLiteral) target).items();
        if (!(value instanceof List<?> values)) {
            throw new IllegalArgumentException("cannot unpack " + typeName(value));
        }
        if (values.size() != names.size()) {
            throw new IllegalArgumentException("too " + (names.size() > values.size() ? "few" : "many")
                    + " items to unpack");
        }
        for (int i = 0; i < names.size(); i++) {
            if (!(names.get(i) instanceof Expr.Name name)) {
                throw new IllegalArgumentException("can only unpack into names");
            }
            scope.variables.put(name.name(), values.get(i));
        }
    }

    private void assign(JinjaParser.Set node, Scope scope) {
        Object value;
        if (node.value() != null) {
            value = evaluate(node.value(), scope);
        } else {
            var text = new StringBuilder();
            renderBlock(node.body(), scope, text);
            value = text.toString();
        }
        switch (node.target()) {
            case Expr.Name name -> scope.variables.put(name.name(), value);
            case Expr.ListLiteral tuple -> bindTarget(tuple, value, scope);
            case Expr.Member member when !member.computed() -> {
                if (!(evaluate(member.object(), scope) instanceof Namespace namespace)) {
                    throw new IllegalArgumentException("cannot assign an attribute of something that is not a namespace");
                }
                namespace.values.put((String) ((Expr.Literal) member.property()).value(), value);
            }
            default -> throw new IllegalArgumentException("cannot assign to " + node.target());
        }
    }

    private Function macro(JinjaParser.Macro node, Scope definition) {
        return (args, kwargs) -> {
            var scope = new Scope(definition);
            bindParameters(node.parameters(), args, kwargs, scope, node.name());
            var text = new StringBuilder();
            renderBlock(node.body(), scope, text);
            return text.toString();
        };
    }

    private void bindParameters(List<Expr> parameters, List<Object> args, Map<String, Object> kwargs, Scope scope,
                                String name) {
        var remaining = new LinkedHashMap<>(kwargs);
        for (int i = 0; i < parameters.size(); i++) {
            Expr parameter = parameters.get(i);
            String parameterName = parameter instanceof Expr.Keyword k ? k.name() : ((Expr.Name) parameter).name();
            Object value = UNDEFINED;
            if (i < args.size()) {
                value = args.get(i);
            } else if (remaining.containsKey(parameterName)) {
                value = remaining.remove(parameterName);
            } else if (parameter instanceof Expr.Keyword k) {
                value = evaluate(k.value(), scope);
            }
            scope.variables.put(parameterName, value);
        }
        if (args.size() > parameters.size()) {
            throw new IllegalArgumentException(name + " takes at most " + parameters.size() + " arguments");
        }
        scope.variables.put("kwargs", remaining);
    }

    // ---- expressions

    private Object evaluate(Expr expr, Scope scope) {
        budget.enter();
        try {
            return evaluateAtDepth(expr, scope);
        } finally {
            budget.exit();
        }
    }

    private Object evaluateAtDepth(Expr expr, Scope scope) {
        return switch (expr) {
            case Expr.Literal l -> l.value();
            case Expr.Name n -> scope.lookup(n.name());
            case Expr.ListLiteral l -> {
                var list = new ArrayList<Object>(l.items().size());
                for (Expr item : l.items()) {
                    list.add(evaluate(item, scope));
                }
                yield list;
            }
            case Expr.DictLiteral d -> {
                var map = new LinkedHashMap<String, Object>();
                d.entries().forEach((k, v) -> {
                    if (!(evaluate(k, scope) instanceof String key)) {
                        throw new IllegalArgumentException("mapping keys must be strings");
                    }
                    map.put(key, evaluate(v, scope));
                });
                yield map;
            }
            case Expr.Member m -> member(evaluate(m.object(), scope), m, scope);
            case Expr.Call c -> call(c, scope);
            case Expr.Filter f -> applyFilter(evaluate(f.value(), scope), f.filter(), scope);
            case Expr.Test t -> t.negated() != test(t.test(), evaluate(t.value(), scope));
            case Expr.Unary u -> unary(u.operator(), evaluate(u.operand(), scope));
            case Expr.Binary b -> binary(b, scope);
            case Expr.Ternary t -> truthy(evaluate(t.test(), scope)) ? evaluate(t.then(), scope)
                    : evaluate(t.otherwise(), scope);
            case Expr.Select s -> truthy(evaluate(s.test(), scope)) ? evaluate(s.value(), scope) : UNDEFINED;
            case Expr.Slice s -> throw new IllegalArgumentException("a slice is only allowed inside []");
            case Expr.Keyword k -> throw new IllegalArgumentException("a keyword argument outside a call");
            case Expr.Spread s -> throw new IllegalArgumentException("argument unpacking outside a call");
        };
    }

    private Object member(Object object, Expr.Member m, Scope scope) {
        if (m.property() instanceof Expr.Slice slice) {
            return slice(object, slice, scope);
        }
        Object property = m.computed() ? evaluate(m.property(), scope) : ((Expr.Literal) m.property()).value();
        if (object instanceof Map<?, ?> || object instanceof Namespace) {
            if (!(property instanceof String key)) {
                throw new IllegalArgumentException("a mapping's key must be a string, got " + typeName(property));
            }
            Map<?, ?> map = object instanceof Namespace ns ? ns.values : (Map<?, ?>) object;
            if (map.containsKey(key)) {
                return map.get(key);
            }
            Object method = object instanceof Map<?, ?> ? mapMethod(map, key) : null;
            return method == null ? UNDEFINED : method;
        }
        Object value = null;
        if (object instanceof List<?> list) {
            if (property instanceof Long index) {
                long i = index < 0 ? list.size() + index : index;
                if (i >= 0 && i < list.size()) {
                    return list.get((int) i);
                }
            } else if (property instanceof String name) {
                value = name.equals("length") ? (Object) (long) list.size() : null;
            } else {
                throw new IllegalArgumentException("a list index must be an integer, got " + typeName(property));
            }
        } else if (object instanceof String text) {
            if (property instanceof Long index) {
                long i = index < 0 ? text.length() + index : index;
                value = i >= 0 && i < text.length() ? String.valueOf(text.charAt((int) i)) : null;
            } else if (property instanceof String name) {
                value = stringMethod(text, name);
            } else {
                throw new IllegalArgumentException("a string index must be an integer, got " + typeName(property));
            }
        }
        return value == null ? UNDEFINED : value;
    }

    private Object slice(Object object, Expr.Slice slice, Scope scope) {
        Object start = slice.start() == null ? UNDEFINED : evaluate(slice.start(), scope);
        Object stop = slice.stop() == null ? UNDEFINED : evaluate(slice.stop(), scope);
        Object step = slice.step() == null ? UNDEFINED : evaluate(slice.step(), scope);
        for (Object part : List.of(start, stop, step)) {
            if (!(part instanceof Long) && part != UNDEFINED) {
                throw new IllegalArgumentException("slice bounds must be integers");
            }
        }
        List<Object> items;
        if (object instanceof List<?> list) {
            budget.spend(list.size());
            items = new ArrayList<>(list);
        } else if (object instanceof String text) {
            budget.spend(2L * text.length());
            items = new ArrayList<>();
            text.codePoints().forEach(c -> items.add(Character.toString(c)));
        } else {
            throw new IllegalArgumentException("only lists and strings can be sliced, not " + typeName(object));
        }
        int n = items.size();
        long by = step == UNDEFINED ? 1 : (Long) step;
        if (by == 0) {
            throw new IllegalArgumentException("slice step cannot be zero");
        }
        long from;
        long to;
        if (by > 0) {
            from = start == UNDEFINED ? 0 : clampSlice((Long) start, n, 0, n);
            to = stop == UNDEFINED ? n : clampSlice((Long) stop, n, 0, n);
        } else {
            from = start == UNDEFINED ? n - 1 : clampSlice((Long) start, n, -1, n - 1);
            to = stop == UNDEFINED ? -1 : clampSlice((Long) stop, n, -1, n - 1);
        }
        var result = new ArrayList<Object>();
        for (long i = from; by > 0 ? i < to : i > to; i += by) {
            result.add(items.get((int) i));
        }
        if (object instanceof String) {
            var text = new StringBuilder();
            result.forEach(text::append);
            return text.toString();
        }
        return result;
    }

    private static long clampSlice(long index, int n, long low, long high) {
        long i = index < 0 ? n + index : index;
        return Math.max(low, Math.min(high, i));
    }

    private Object call(Expr.Call c, Scope scope) {
        var args = new ArrayList<Object>();
        var kwargs = new LinkedHashMap<String, Object>();
        for (Expr argument : c.args()) {
            switch (argument) {
                case Expr.Keyword k -> kwargs.put(k.name(), evaluate(k.value(), scope));
                case Expr.Spread s when s.keywords() -> {
                    if (!(evaluate(s.value(), scope) instanceof Map<?, ?> map)) {
                        throw new IllegalArgumentException("** needs a mapping");
                    }
                    budget.spend(map.size());
                    map.forEach((k, v) -> kwargs.put((String) k, v));
                }
                case Expr.Spread s -> {
                    if (!(evaluate(s.value(), scope) instanceof List<?> list)) {
                        throw new IllegalArgumentException("* needs a list");
                    }
                    budget.spend(list.size());
                    args.addAll(list);
                }
                default -> args.add(evaluate(argument, scope));
            }
        }
        Object callee = evaluate(c.callee(), scope);
        if (!(callee instanceof Function function)) {
            throw new IllegalArgumentException("cannot call " + describe(c.callee()) + ", a " + typeName(callee));
        }
        return function.call(args, kwargs);
    }

    private static String describe(Expr expr) {
        return switch (expr) {
            case Expr.Name n -> "'" + n.name() + "'";
            case Expr.Member m when !m.computed() -> "'" + ((Expr.Literal) m.property()).value() + "'";
            default -> "an expression";
        };
    }

    private Object unary(String operator, Object value) {
        if (operator.equals("not")) {
            return !truthy(value);
        }
        boolean negate = operator.equals("-");
        return switch (value) {
            case Long l -> negate ? exact(() -> Math.negateExact(l)) : l;
            case Double d -> negate ? -d : d;
            case Boolean b -> (long) (negate ? -1 : 1) * (b ? 1 : 0);
            default -> throw new IllegalArgumentException("unary " + operator + " of " + typeName(value));
        };
    }

    private Object binary(Expr.Binary b, Scope scope) {
        String op = b.operator();
        Object left = evaluate(b.left(), scope);
        if (op.equals("and")) {
            return truthy(left) ? evaluate(b.right(), scope) : left;
        }
        if (op.equals("or")) {
            return truthy(left) ? left : evaluate(b.right(), scope);
        }
        Object right = evaluate(b.right(), scope);
        switch (op) {
            case "==" -> {
                return looseEquals(left, right);
            }
            case "!=" -> {
                return !looseEquals(left, right);
            }
            default -> {
            }
        }
        if (left instanceof Number a && right instanceof Number c && !op.equals("~") && !op.equals("**")) {
            boolean isFloat = left instanceof Double || right instanceof Double;
            double x = a.doubleValue();
            double y = c.doubleValue();
            long i = a.longValue();
            long j = c.longValue();
            if (!isFloat && j == 0 && (op.equals("//") || op.equals("%"))) {
                throw new IllegalArgumentException("integer " + op + " by zero");
            }
            return switch (op) {
                case "+" -> isFloat ? (Object) (x + y) : exact(() -> Math.addExact(i, j));
                case "-" -> isFloat ? (Object) (x - y) : exact(() -> Math.subtractExact(i, j));
                case "*" -> isFloat ? (Object) (x * y) : exact(() -> Math.multiplyExact(i, j));
                case "/" -> x / y;
                case "//" -> isFloat ? (Object) Math.floor(x / y) : (Object) Math.floorDiv(i, j);
                case "%" -> isFloat ? (Object) (x % y) : (Object) (i % j);
                case "<" -> x < y;
                case ">" -> x > y;
                case "<=" -> x <= y;
                case ">=" -> x >= y;
                default -> throw new IllegalArgumentException("unknown operator " + op);
            };
        }
        if (left == UNDEFINED || right == UNDEFINED) {
            if (right == UNDEFINED && (op.equals("in") || op.equals("not in"))) {
                return op.equals("not in");
            }
            if (op.equals("~") && left != null && right != null) {
                return concat(left == UNDEFINED ? "" : left, right == UNDEFINED ? "" : right);
            }
            throw new IllegalArgumentException("cannot apply " + op + " to an undefined value");
        }
        if (left == null || right == null) {
            throw new IllegalArgumentException("cannot apply " + op + " to none");
        }
        if (op.equals("~")) {
            return concat(left, right);
        }
        if (op.equals("**") && isNumeric(left) && isNumeric(right)) {
            double x = numeric(left);
            double y = numeric(right);
            double result = Math.pow(x, y);
            boolean isFloat = left instanceof Double || right instanceof Double || y < 0;
            if (!isFloat && !(Math.abs(result) < 0x1p63)) {
                throw new IllegalArgumentException("integer overflow: " + print(left) + " ** " + print(right)
                        + " does not fit 64 bits");
            }
            return isFloat ? (Object) result : (Object) (long) result;
        }
        if (left instanceof List<?> l && right instanceof List<?> r && op.equals("+")) {
            budget.spend((long) l.size() + r.size());
            var joined = new ArrayList<Object>(l);
            joined.addAll(r);
            return joined;
        }
        if (right instanceof List<?> list && (op.equals("in") || op.equals("not in"))) {
            budget.spend(list.size());
            boolean found = list.stream().anyMatch(item -> strictEquals(item, left));
            return op.equals("in") == found;
        }
        if ((left instanceof String || right instanceof String) && op.equals("+")) {
            return concat(left, right);
        }
        if (left instanceof String l && right instanceof String r && (op.equals("in") || op.equals("not in"))) {
            budget.spend(r.length());
            return op.equals("in") == r.contains(l);
        }
        if (left instanceof String key && right instanceof Map<?, ?> map && (op.equals("in") || op.equals("not in"))) {
            return op.equals("in") == map.containsKey(key);
        }
        throw new IllegalArgumentException("unknown operator " + op + " between " + typeName(left) + " and "
                + typeName(right));
    }

    private static Object exact(java.util.function.LongSupplier arithmetic) {
        try {
            return arithmetic.getAsLong();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("integer overflow: the result does not fit 64 bits");
        }
    }

    /** {@code left ~ right}, paid for before it is built. */
    private String concat(Object left, Object right) {
        String a = concatText(left);
        String b = concatText(right);
        budget.spend((long) a.length() + b.length());
        return a + b;
    }

    // ---- filters, tests, methods

    private Object applyFilter(Object operand, Expr filter, Scope scope) {
        String name;
        List<Object> args = List.of();
        Map<String, Object> kwargs = Map.of();
        if (filter instanceof Expr.Call call) {
            name = ((Expr.Name) call.callee()).name();
            var a = new ArrayList<Object>();
            var k = new LinkedHashMap<String, Object>();
            for (Expr argument : call.args()) {
                if (argument instanceof Expr.Keyword keyword) {
                    k.put(keyword.name(), evaluate(keyword.value(), scope));
                } else {
                    a.add(evaluate(argument, scope));
                }
            }
            args = a;
            kwargs = k;
        } else {
            name = ((Expr.Name) filter).name();
        }
        switch (name) {
            case "safe" -> {
                return operand;
            }
            case "tojson" -> {
                Object indent = kwargs.getOrDefault("indent", null);
                if (indent != null && !(indent instanceof Long)) {
                    throw new IllegalArgumentException("tojson's indent must be an integer");
                }
                return paid(JinjaJson.write(operand, indent == null ? 0 : (Long) indent,
                        Boolean.TRUE.equals(kwargs.get("ensure_ascii")), Boolean.TRUE.equals(kwargs.get("sort_keys")),
                        separators(kwargs.get("separators")), true, budget.left()));
            }
            case "default" -> {
                Object fallback = args.isEmpty() ? "" : args.get(0);
                boolean onFalsy = Boolean.TRUE.equals(args.size() > 1 ? args.get(1) : kwargs.get("boolean"));
                return operand == UNDEFINED || (onFalsy && !truthy(operand)) ? fallback : operand;
            }
            default -> {
            }
        }
        if (operand instanceof List<?> list) {
            return listFilter(name, list, args, kwargs);
        }
        if (operand instanceof String text) {
            if (!name.equals("length") && !name.equals("string")) {
                budget.spend(text.length());
            }
            return switch (name) {
                case "length" -> (long) text.length();
                case "upper" -> text.toUpperCase(java.util.Locale.ROOT);
                case "lower" -> text.toLowerCase(java.util.Locale.ROOT);
                case "title" -> titleCase(text);
                case "capitalize" -> capitalize(text);
                case "trim" -> strip(text, true, true);
                case "string", "join" -> name.equals("join") && !args.isEmpty() ? joinCodePoints(text, (String) args.get(0))
                        : text;
                case "indent" -> indent(text, args, kwargs);
                case "replace" -> replace(text, args, kwargs);
                case "int" -> parseInt(text, args);
                case "float" -> parseFloat(text, args);
                default -> throw new IllegalArgumentException("unknown filter '" + name + "' for a string");
            };
        }
        if (operand instanceof Long || operand instanceof Double) {
            return switch (name) {
                case "int" -> (long) ((Number) operand).doubleValue();
                case "float" -> ((Number) operand).doubleValue();
                case "string" -> print(operand);
                case "abs" -> operand instanceof Long l ? exact(() -> Math.absExact(l)) : (Object) Math.abs((Double) operand);
                default -> throw new IllegalArgumentException("unknown filter '" + name + "' for a number");
            };
        }
        if (operand instanceof Boolean b) {
            return switch (name) {
                case "bool" -> b;
                case "int" -> b ? 1L : 0L;
                case "float" -> b ? 1.0 : 0.0;
                case "string" -> b.toString();
                default -> throw new IllegalArgumentException("unknown filter '" + name + "' for a boolean");
            };
        }
        if (operand instanceof Map<?, ?> map) {
            budget.spend(map.size());
            return switch (name) {
                case "items" -> mapMethod(map, "items").call(List.of(), Map.of());
                case "length" -> (long) map.size();
                case "keys", "values" -> mapMethod(map, name).call(List.of(), Map.of());
                case "string" -> print(map);
                default -> throw new IllegalArgumentException("unknown filter '" + name + "' for a mapping");
            };
        }
        throw new IllegalArgumentException("cannot apply filter '" + name + "' to " + typeName(operand));
    }

    private Object listFilter(String name, List<?> list, List<Object> args, Map<String, Object> kwargs) {
        budget.spend(list.size());
        switch (name) {
            case "list" -> {
                return list;
            }
            case "first" -> {
                return list.isEmpty() ? UNDEFINED : list.getFirst();
            }
            case "last" -> {
                return list.isEmpty() ? UNDEFINED : list.getLast();
            }
            case "length", "count" -> {
                return (long) list.size();
            }
            case "reverse" -> {
                var reversed = new ArrayList<Object>(list);
                Collections.reverse(reversed);
                return reversed;
            }
            case "join" -> {
                String separator = !args.isEmpty() ? (String) args.get(0) : (String) kwargs.getOrDefault("separator", "");
                var text = new StringBuilder();
                for (int i = 0; i < list.size(); i++) {
                    String item = concatText(list.get(i));
                    budget.spend((long) (i > 0 ? separator.length() : 0) + item.length());
                    text.append(i > 0 ? separator : "").append(item);
                }
                return text.toString();
            }
            case "string" -> {
                return print(list);
            }
            case "unique" -> {
                var out = new ArrayList<Object>();
                for (Object item : list) {
                    budget.spend(out.size());
                    if (out.stream().noneMatch(seen -> strictEquals(seen, item))) {
                        out.add(item);
                    }
                }
                return out;
            }
            case "selectattr", "rejectattr" -> {
                boolean select = name.equals("selectattr");
                String attribute = (String) args.get(0);
                String testName = args.size() > 1 ? (String) args.get(1) : null;
                Object expected = args.size() > 2 ? args.get(2) : UNDEFINED;
                var out = new ArrayList<Object>();
                for (Object item : list) {
                    if (!(item instanceof Map<?, ?>) && !(item instanceof Namespace)) {
                        throw new IllegalArgumentException(name + " applies to a list of mappings only");
                    }
                    Map<?, ?> map = item instanceof Namespace ns ? ns.values : (Map<?, ?>) item;
                    Object value = map.containsKey(attribute) ? map.get(attribute) : UNDEFINED;
                    boolean passes = jsTruthy(value) && (testName == null ? truthy(value) : test(testName, value, expected));
                    if (passes == select) {
                        out.add(item);
                    }
                }
                return out;
            }
            case "map" -> {
                if (!kwargs.containsKey("attribute")) {
                    throw new IllegalArgumentException("map needs attribute=");
                }
                var out = new ArrayList<Object>();
                for (Object item : list) {
                    if (!(item instanceof Map<?, ?> map)) {
                        throw new IllegalArgumentException("map applies to a list of mappings only");
                    }
                    Object value = map.containsKey(kwargs.get("attribute")) ? map.get(kwargs.get("attribute")) : UNDEFINED;
                    out.add(value == UNDEFINED ? kwargs.getOrDefault("default", UNDEFINED) : value);
                }
                return out;
            }
            default -> throw new IllegalArgumentException("unknown filter '" + name + "' for a list");
        }
    }

    private static boolean test(String name, Object value) {
        return test(name, value, UNDEFINED);
    }

    private static boolean test(String name, Object value, Object argument) {
        return switch (name) {
            case "boolean" -> value instanceof Boolean;
            case "callable" -> value instanceof Function;
            case "odd", "even" -> {
                if (!(value instanceof Long l)) {
                    throw new IllegalArgumentException("cannot test " + name + " of " + typeName(value));
                }
                yield (l % 2 != 0) == name.equals("odd");
            }
            case "false" -> Boolean.FALSE.equals(value);
            case "true" -> Boolean.TRUE.equals(value);
            case "none" -> value == null;
            case "string" -> value instanceof String;
            case "number" -> value instanceof Long || value instanceof Double;
            case "integer" -> value instanceof Long;
            case "float" -> value instanceof Double;
            case "iterable" -> value instanceof List<?> || value instanceof String;
            case "mapping" -> value instanceof Map<?, ?>;
            case "sequence" -> value instanceof List<?> || value instanceof Map<?, ?> || value instanceof String;
            case "lower" -> value instanceof String s && s.equals(s.toLowerCase(java.util.Locale.ROOT));
            case "upper" -> value instanceof String s && s.equals(s.toUpperCase(java.util.Locale.ROOT));
            case "defined" -> value != UNDEFINED;
            case "undefined" -> value == UNDEFINED;
            case "equalto", "eq" -> strictEquals(value, argument);
            default -> throw new IllegalArgumentException("unknown test '" + name + "'");
        };
    }

    private Object stringMethod(String text, String name) {
        return switch (name) {
            case "length" -> (long) text.length();
            case "upper" -> (Function) (a, k) -> text.toUpperCase(java.util.Locale.ROOT);
            case "lower" -> (Function) (a, k) -> text.toLowerCase(java.util.Locale.ROOT);
            case "strip" -> (Function) (a, k) -> strip(text, true, true);
            case "lstrip" -> (Function) (a, k) -> strip(text, true, false);
            case "rstrip" -> (Function) (a, k) -> strip(text, false, true);
            case "title" -> (Function) (a, k) -> titleCase(text);
            case "capitalize" -> (Function) (a, k) -> capitalize(text);
            case "startswith", "endswith" -> (Function) (a, k) -> {
                if (a.isEmpty()) {
                    throw new IllegalArgumentException(name + "() needs an argument");
                }
                List<?> options = a.getFirst() instanceof List<?> l ? l : List.of(a.getFirst());
                for (Object option : options) {
                    if (!(option instanceof String s)) {
                        throw new IllegalArgumentException(name + "() takes strings");
                    }
                    if (name.equals("startswith") ? text.startsWith(s) : text.endsWith(s)) {
                        return true;
                    }
                }
                return false;
            };
            case "split" -> (Function) (a, k) -> split(text, a);
            case "replace" -> (Function) (a, k) -> replace(text, a, k);
            default -> null;
        };
    }

    private Function mapMethod(Map<?, ?> map, String name) {
        return switch (name) {
            case "get" -> (a, k) -> {
                Object key = a.isEmpty() ? UNDEFINED : a.get(0);
                return map.containsKey(key) ? map.get(key) : a.size() > 1 ? a.get(1) : null;
            };
            case "items" -> (a, k) -> {
                budget.spend(3L * map.size());
                var items = new ArrayList<Object>();
                map.forEach((key, value) -> items.add(new ArrayList<>(java.util.Arrays.asList(key, value))));
                return items;
            };
            case "keys" -> (a, k) -> {
                budget.spend(map.size());
                return new ArrayList<Object>(map.keySet());
            };
            case "values" -> (a, k) -> {
                budget.spend(map.size());
                return new ArrayList<Object>(map.values());
            };
            default -> null;
        };
    }

    private List<Object> split(String text, List<Object> args) {
        budget.spend(2L * text.length());
        Object separator = args.isEmpty() ? null : args.get(0);
        long max = args.size() > 1 ? (Long) args.get(1) : -1;
        var out = new ArrayList<Object>();
        if (separator == null) {
            String rest = strip(text, true, false);
            var m = java.util.regex.Pattern.compile("\\S+").matcher(rest);
            while (m.find()) {
                if (max >= 0 && out.size() >= max) {
                    out.add(rest.substring(m.start()));
                    break;
                }
                out.add(m.group());
            }
            return out;
        }
        if (!(separator instanceof String sep) || sep.isEmpty()) {
            throw new IllegalArgumentException("split() needs a non-empty string separator");
        }
        int from = 0;
        while (true) {
            int at = text.indexOf(sep, from);
            if (at < 0 || (max >= 0 && out.size() >= max)) {
                out.add(text.substring(from));
                return out;
            }
            out.add(text.substring(from, at));
            from = at + sep.length();
        }
    }

    private String replace(String text, List<Object> args, Map<String, Object> kwargs) {
        if (args.size() < 2 || !(args.get(0) instanceof String from) || !(args.get(1) instanceof String to)) {
            throw new IllegalArgumentException("replace() needs two strings");
        }
        Object count = args.size() > 2 ? args.get(2) : kwargs.getOrDefault("count", null);
        long limit = count == null ? -1 : (Long) count;
        if (from.isEmpty()) {
            var out = new StringBuilder();
            int[] cps = text.codePoints().toArray();
            long inserted = 0;
            for (int i = 0; i <= cps.length; i++) {
                budget.spend(1);
                if (limit < 0 || inserted < limit) {
                    budget.spend(to.length());
                    out.append(to);
                    inserted++;
                }
                if (i < cps.length) {
                    out.appendCodePoint(cps[i]);
                }
            }
            return out.toString();
        }
        var out = new StringBuilder();
        int start = 0;
        long done = 0;
        int at;
        while ((limit < 0 || done < limit) && (at = text.indexOf(from, start)) >= 0) {
            budget.spend(to.length());
            out.append(text, start, at).append(to);
            start = at + from.length();
            done++;
        }
        return out.append(text.substring(start)).toString();
    }

    private String indent(String text, List<Object> args, Map<String, Object> kwargs) {
        Object width = !args.isEmpty() ? args.get(0) : kwargs.getOrDefault("width", 4L);
        boolean first = Boolean.TRUE.equals(args.size() > 1 ? args.get(1) : kwargs.get("first"));
        boolean blank = Boolean.TRUE.equals(args.size() > 2 ? args.get(2) : kwargs.get("blank"));
        if (!(width instanceof String) && !(width instanceof Long)) {
            throw new IllegalArgumentException("indent's width must be a string or an integer, got " + typeName(width));
        }
        long padChars = width instanceof String s ? s.length() : Math.max(0, (Long) width);
        budget.spend(padChars);
        String pad = width instanceof String s ? s : " ".repeat((int) padChars);
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            if ((first || i > 0) && (blank || !lines[i].isEmpty())) {
                budget.spend(padChars + lines[i].length());
                lines[i] = pad + lines[i];
            }
        }
        return String.join("\n", lines);
    }

    private static Object parseInt(String text, List<Object> args) {
        var m = java.util.regex.Pattern.compile("^\\s*([+-]?\\d+)").matcher(text);
        return m.find() ? (Object) Long.parseLong(m.group(1)) : args.isEmpty() ? (Object) 0L : args.get(0);
    }

    private static Object parseFloat(String text, List<Object> args) {
        var m = java.util.regex.Pattern.compile("^\\s*([+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?)").matcher(text);
        return m.find() ? (Object) Double.parseDouble(m.group(1)) : args.isEmpty() ? (Object) 0.0 : args.get(0);
    }

    private String joinCodePoints(String text, String separator) {
        var out = new StringBuilder();
        int[] cps = text.codePoints().toArray();
        for (int i = 0; i < cps.length; i++) {
            budget.spend(1L + separator.length());
            out.append(i > 0 ? separator : "").appendCodePoint(cps[i]);
        }
        return out.toString();
    }

    private static String titleCase(String text) {
        var out = new StringBuilder(text.length());
        boolean atWordStart = true;
        for (char c : text.toCharArray()) {
            boolean word = Character.isLetterOrDigit(c) && c < 128 || c == '_';
            out.append(word && atWordStart ? Character.toUpperCase(c) : c);
            atWordStart = !word;
        }
        return out.toString();
    }

    private static String capitalize(String text) {
        return text.isEmpty() ? text : text.substring(0, 1).toUpperCase(java.util.Locale.ROOT) + text.substring(1);
    }

    static String strip(String text, boolean leading, boolean trailing) {
        int start = 0;
        int end = text.length();
        while (leading && start < end && JinjaParser.isWhitespace(text.charAt(start))) {
            start++;
        }
        while (trailing && end > start && JinjaParser.isWhitespace(text.charAt(end - 1))) {
            end--;
        }
        return text.substring(start, end);
    }

    private static String[] separators(Object value) {
        if (value == null) {
            return null;
        }
        if (value instanceof List<?> list && list.size() == 2 && list.get(0) instanceof String a
                && list.get(1) instanceof String b) {
            return new String[] {a, b};
        }
        throw new IllegalArgumentException("tojson's separators must be two strings");
    }

    // ---- globals

    private static Object namespace(List<Object> args, Map<String, Object> kwargs) {
        var namespace = new Namespace();
        if (!args.isEmpty()) {
            if (args.getFirst() instanceof Map<?, ?> map) {
                map.forEach((k, v) -> namespace.values.put((String) k, v));
            } else if (args.getFirst() != null) {
                throw new IllegalArgumentException("namespace() takes a mapping");
            }
        }
        namespace.values.putAll(kwargs);
        return namespace;
    }

    private Object range(List<Object> args, Map<String, Object> kwargs) {
        long start = 0;
        long stop;
        long step = args.size() > 2 ? (Long) args.get(2) : 1;
        if (args.size() == 1) {
            stop = (Long) args.get(0);
        } else if (args.size() >= 2) {
            start = (Long) args.get(0);
            stop = (Long) args.get(1);
        } else {
            throw new IllegalArgumentException("range() needs a stop");
        }
        if (step == 0) {
            throw new IllegalArgumentException("range() step must not be zero");
        }
        var out = new ArrayList<Object>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
            budget.spend(1);
            out.add(i);
            if (out.size() > 1_000_000) {
                throw new IllegalArgumentException("range() is too long");
            }
        }
        return out;
    }

    // ---- value semantics

    static boolean truthy(Object value) {
        return switch (value) {
            case null -> false;
            case Boolean b -> b;
            case Long l -> l != 0;
            case Double d -> d != 0 && !d.isNaN();
            case String s -> !s.isEmpty();
            case List<?> l -> !l.isEmpty();
            case Map<?, ?> m -> !m.isEmpty();
            default -> value != UNDEFINED;
        };
    }

    /** Truthiness of the raw value in the reference's own language, which selectattr checks first. */
    private static boolean jsTruthy(Object value) {
        return switch (value) {
            case null -> false;
            case Boolean b -> b;
            case Long l -> l != 0;
            case Double d -> d != 0 && !d.isNaN();
            case String s -> !s.isEmpty();
            default -> value != UNDEFINED;
        };
    }

    private static boolean isNumeric(Object value) {
        return value instanceof Long || value instanceof Double || value instanceof Boolean;
    }

    private static double numeric(Object value) {
        return value instanceof Boolean b ? (b ? 1 : 0) : ((Number) value).doubleValue();
    }

    /** {@code ==}: numbers by value, strings and booleans by value, none equals undefined, the rest by identity. */
    private static boolean looseEquals(Object a, Object b) {
        boolean aMissing = a == null || a == UNDEFINED;
        boolean bMissing = b == null || b == UNDEFINED;
        if (aMissing || bMissing) {
            return aMissing && bMissing;
        }
        if (isNumeric(a) && isNumeric(b)) {
            return numeric(a) == numeric(b);
        }
        if (a instanceof String s && isNumeric(b) || b instanceof String && isNumeric(a)) {
            String text = a instanceof String t ? t : (String) b;
            double number = numeric(a instanceof String ? b : a);
            try {
                return Double.parseDouble(text.isBlank() ? "0" : text.strip()) == number;
            } catch (NumberFormatException e) {
                return false;
            }
        }
        return strictEquals(a, b);
    }

    /** Same value for strings, numbers and booleans; the same object otherwise. */
    private static boolean strictEquals(Object a, Object b) {
        if (a instanceof String || a instanceof Boolean) {
            return a.equals(b);
        }
        if (a instanceof Number x && b instanceof Number y) {
            return x.doubleValue() == y.doubleValue();
        }
        return a == b;
    }

    /** How a value prints in output: lists and mappings as JSON of at most {@code maxChars} characters. */
    static String print(Object value, long maxChars) {
        return switch (value) {
            case null -> "";
            case String s -> s;
            case Long l -> l.toString();
            case Double d -> d == 0 && 1 / d < 0 ? "-0.0" : d % 1 == 0 && !d.isInfinite() ? JinjaJson.number(d) + ".0"
                    : JinjaJson.number(d);
            case Boolean b -> b.toString();
            case List<?> l -> JinjaJson.write(l, 0, false, false, null, false, maxChars);
            case Map<?, ?> m -> JinjaJson.write(m, 0, false, false, null, false, maxChars);
            case Namespace n -> JinjaJson.write(n.values, 0, false, false, null, false, maxChars);
            case Function f -> "function";
            default -> value == UNDEFINED ? "" : value.toString();
        };
    }

    /** {@code text}, built by a builtin that could not pay for it before: paid for now. */
    private String paid(String text) {
        budget.spend(text.length());
        return text;
    }

    /** How a value prints, the JSON of a list or mapping paid for. */
    private String print(Object value) {
        String text = print(value, budget.left());
        if (value instanceof List<?> || value instanceof Map<?, ?> || value instanceof Namespace) {
            budget.spend(text.length());
        }
        return text;
    }

    /** How a value reads when joined to a string with {@code +} or {@code ~}. */
    private String concatText(Object value) {
        return concatText(value, 0);
    }

    private String concatText(Object value, int depth) {
        JinjaBudget.checkValueDepth(depth);
        return switch (value) {
            case Double d -> JinjaJson.number(d);
            case List<?> l -> {
                var text = new StringBuilder();
                for (int i = 0; i < l.size(); i++) {
                    Object item = l.get(i);
                    String part = item instanceof Map<?, ?> ? "[object Object]" : concatText(item, depth + 1);
                    budget.spend(1L + part.length());
                    text.append(i > 0 ? "," : "").append(part);
                }
                yield text.toString();
            }
            case Map<?, ?> m -> "[object Map]";
            default -> print(value);
        };
    }

    static String typeName(Object value) {
        return switch (value) {
            case null -> "none";
            case String s -> "string";
            case Long l -> "integer";
            case Double d -> "float";
            case Boolean b -> "boolean";
            case List<?> l -> "list";
            case Map<?, ?> m -> "mapping";
            case Namespace n -> "namespace";
            case Function f -> "function";
            default -> value == UNDEFINED ? "undefined" : value.getClass().getSimpleName();
        };
    }
}
