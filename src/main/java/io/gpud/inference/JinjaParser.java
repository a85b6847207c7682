package io.gpud.inference;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads a Jinja chat template into a tree, with the syntax and whitespace rules of
 * {@code @huggingface/jinja} (the renderer of {@code @huggingface/transformers}): blocks
 * trimmed ({@code trim_blocks}, {@code lstrip_blocks}, one trailing newline of the template
 * dropped), {@code -} inside a tag strips the whitespace beside it, and operators bind, from
 * loosest: {@code a if b else c}, {@code or}, {@code and}, {@code not}, comparisons and
 * {@code in}, {@code + - ~}, {@code * / // %}, {@code **}, {@code is}, {@code |filter},
 * unary sign, then calls, attributes, subscripts and slices. {@code {% generation %}} tags
 * vanish, keeping their content.
 *
 * <p>The template comes from a model file, so reading it is bounded: statements, brackets,
 * {@code not} and signs may nest at most {@value #MAX_NESTING} deep (the parser recurses once
 * per level; real templates nest a dozen deep), integer literals must fit a {@code long}, and
 * every failure is an {@link IllegalArgumentException} naming what is wrong. Long chains of
 * operators are read without recursion; {@link JinjaRuntime} bounds how deep they evaluate.
 */
final class JinjaParser {

    /** A statement of the template. */
    sealed interface Node {
    }

    record Text(String text) implements Node {
    }

    record Output(Expr value) implements Node {
    }

    record If(Expr test, List<Node> body, List<Node> otherwise) implements Node {
    }

    /** {@code {% for target in iterable [if filter] %}body{% else %}otherwise{% endfor %}}. */
    record For(Expr target, Expr iterable, Expr filter, List<Node> body, List<Node> otherwise) implements Node {
    }

    /** {@code {% set target = value %}}, or the block form when {@code value} is null. */
    record Set(Expr target, Expr value, List<Node> body) implements Node {
    }

    record Macro(String name, List<Expr> parameters, List<Node> body) implements Node {
    }

    record CallBlock(Expr.Call call, List<Expr> callerParameters, List<Node> body) implements Node {
    }

    record FilterBlock(Expr filter, List<Node> body) implements Node {
    }

    record Break() implements Node {
    }

    record Continue() implements Node {
    }

    /** An expression. */
    sealed interface Expr {
        record Literal(Object value) implements Expr {
        }

        record Name(String name) implements Expr {
        }

        record ListLiteral(List<Expr> items, boolean tuple) implements Expr {
        }

        record DictLiteral(Map<Expr, Expr> entries) implements Expr {
        }

        /** {@code object.name} ({@code computed} false) or {@code object[property]}. */
        record Member(Expr object, Expr property, boolean computed) implements Expr {
        }

        /** {@code [start:stop:step]}; absent parts are null. */
        record Slice(Expr start, Expr stop, Expr step) implements Expr {
        }

        record Call(Expr callee, List<Expr> args) implements Expr {
        }

        record Keyword(String name, Expr value) implements Expr {
        }

        record Spread(Expr value, boolean keywords) implements Expr {
        }

        /** {@code value | filter}, where filter is a {@link Name} or a {@link Call} of one. */
        record Filter(Expr value, Expr filter) implements Expr {
        }

        record Test(Expr value, boolean negated, String test) implements Expr {
        }

        record Unary(String operator, Expr operand) implements Expr {
        }

        record Binary(String operator, Expr left, Expr right) implements Expr {
        }

        record Ternary(Expr test, Expr then, Expr otherwise) implements Expr {
        }

        /** {@code value if test} without else: undefined when the test fails; in a for loop, a filter. */
        record Select(Expr value, Expr test) implements Expr {
        }
    }

    private enum Type { TEXT, OPEN_STATEMENT, CLOSE_STATEMENT, OPEN_EXPRESSION, CLOSE_EXPRESSION, COMMENT, STRING,
        NUMBER, IDENTIFIER, SYMBOL }

    private record Token(Type type, String value) {
    }

    private static final Pattern LSTRIP_BLOCKS = Pattern.compile("(?m)^[ \\t]*(\\{[#%-])");
    private static final Pattern TRIM_BLOCKS = Pattern.compile("([#%-]})\\n");
    private static final Pattern GENERATION = Pattern.compile("\\{%(-?)\\s*(?:end)?generation\\s*(-?)%}(\\s*)",
            Pattern.DOTALL);
    private static final List<String> SYMBOLS = List.of("{%", "%}", "{{", "}}", "<=", ">=", "==", "!=", "**", "//",
            "(", ")", "{", "}", "[", "]", ",", ".", ":", "|", "<", ">", "+", "-", "~", "*", "/", "%", "=");

    /** How deep statements, brackets, {@code not} and signs may nest. */
    static final int MAX_NESTING = 200;

    private final List<Token> tokens;
    private int current;
    /** How many nesting levels enclose the token being read: at most {@link #MAX_NESTING}. */
    private int nesting;

    private JinjaParser(List<Token> tokens) {
        this.tokens = tokens;
    }

    /** The template's statements; throws {@link IllegalArgumentException} naming what is wrong. */
    static List<Node> parse(String template) {
        var parser = new JinjaParser(tokenize(template));
        var body = new ArrayList<Node>();
        while (parser.current < parser.tokens.size()) {
            body.add(parser.parseAny());
        }
        return body;
    }

    static boolean isWhitespace(int c) {
        if (c <= 32) {
            return c == 32 || (c >= 9 && c <= 13);
        }
        return c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029
                || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
    }

    private static String preprocess(String template) {
        if (template.endsWith("\n")) {
            template = template.substring(0, template.length() - 1);
        }
        template = LSTRIP_BLOCKS.matcher(template).replaceAll("$1");
        template = TRIM_BLOCKS.matcher(template).replaceAll("$1");
        var out = new StringBuilder();
        int last = 0;
        var m = GENERATION.matcher(template);
        while (m.find()) {
            int end = m.start();
            while (!m.group(1).isEmpty() && end > last && isWhitespace(template.charAt(end - 1))) {
                end--;
            }
            out.append(template, last, end).append(m.group(2).isEmpty() ? m.group(3) : "");
            last = m.end();
        }
        return out.append(template.substring(last)).toString();
    }

    private static List<Token> tokenize(String template) {
        String src = preprocess(template);
        var tokens = new ArrayList<Token>();
        int n = src.length();
        int pos = 0;
        int curlyDepth = 0;
        while (pos < n) {
            Type last = tokens.isEmpty() ? null : tokens.getLast().type();
            if (last == null || last == Type.CLOSE_STATEMENT || last == Type.CLOSE_EXPRESSION || last == Type.COMMENT) {
                int end = pos;
                while (true) {
                    end = src.indexOf('{', end);
                    if (end < 0) {
                        end = n;
                        break;
                    }
                    char next = end + 1 < n ? src.charAt(end + 1) : 0;
                    if (next == '%' || next == '{' || next == '#') {
                        break;
                    }
                    end++;
                }
                if (end > pos) {
                    tokens.add(new Token(Type.TEXT, src.substring(pos, end)));
                    pos = end;
                    continue;
                }
            }
            if (src.charAt(pos) == '{' && pos + 1 < n) {
                char next = src.charAt(pos + 1);
                if (next == '#') {
                    pos += 2;
                    boolean stripBefore = pos < n && src.charAt(pos) == '-';
                    if (stripBefore) {
                        pos++;
                    }
                    int end = src.indexOf("#}", pos);
                    if (end < 0) {
                        throw new IllegalArgumentException("a comment is not closed with #}");
                    }
                    String comment = src.substring(pos, end);
                    boolean stripAfter = comment.endsWith("-");
                    if (stripBefore) {
                        stripTrailingWhitespace(tokens);
                    }
                    tokens.add(new Token(Type.COMMENT, comment));
                    pos = end + 2;
                    if (stripAfter) {
                        pos = skipWhitespace(src, pos);
                    }
                    continue;
                }
                if (pos + 2 < n && src.charAt(pos + 2) == '-' && (next == '%' || next == '{')) {
                    stripTrailingWhitespace(tokens);
                    tokens.add(new Token(next == '%' ? Type.OPEN_STATEMENT : Type.OPEN_EXPRESSION, "{" + next));
                    curlyDepth = 0;
                    pos += 3;
                    continue;
                }
            }
            while (pos < n && isWhitespace(src.charAt(pos))) {
                pos++;
            }
            if (pos >= n) {
                throw new IllegalArgumentException("the template ends inside a tag");
            }
            char c = src.charAt(pos);
            if (c == '-' && pos + 2 < n && src.charAt(pos + 2) == '}'
                    && (src.charAt(pos + 1) == '%' || src.charAt(pos + 1) == '}')) {
                tokens.add(new Token(src.charAt(pos + 1) == '%' ? Type.CLOSE_STATEMENT : Type.CLOSE_EXPRESSION,
                        src.charAt(pos + 1) + "}"));
                pos = skipWhitespace(src, pos + 3);
                continue;
            }
            String symbol = null;
            for (String s : SYMBOLS) {
                if (src.startsWith(s, pos) && !(s.equals("}}") && curlyDepth > 0)) {
                    symbol = s;
                    break;
                }
            }
            if (symbol != null) {
                Type type = switch (symbol) {
                    case "{%" -> Type.OPEN_STATEMENT;
                    case "%}" -> Type.CLOSE_STATEMENT;
                    case "{{" -> Type.OPEN_EXPRESSION;
                    case "}}" -> Type.CLOSE_EXPRESSION;
                    default -> Type.SYMBOL;
                };
                if (type == Type.OPEN_EXPRESSION) {
                    curlyDepth = 0;
                } else if (symbol.equals("{")) {
                    curlyDepth++;
                } else if (symbol.equals("}")) {
                    curlyDepth--;
                }
                tokens.add(new Token(type, symbol));
                pos += symbol.length();
                continue;
            }
            if (c == '\'' || c == '"') {
                var text = new StringBuilder();
                pos++;
                while (true) {
                    if (pos >= n) {
                        throw new IllegalArgumentException("a string literal is not closed");
                    }
                    char ch = src.charAt(pos++);
                    if (ch == c) {
                        break;
                    }
                    if (ch != '\\') {
                        text.append(ch);
                        continue;
                    }
                    if (pos >= n) {
                        throw new IllegalArgumentException("a string literal is not closed");
                    }
                    char escaped = src.charAt(pos++);
                    if (escaped == 'x' || escaped == 'u') {
                        int digits = escaped == 'x' ? 2 : 4;
                        if (pos + digits > n || !src.substring(pos, pos + digits).matches("[0-9a-fA-F]+")) {
                            throw new IllegalArgumentException("invalid escape \\" + escaped + " in a string literal");
                        }
                        text.append((char) Integer.parseInt(src.substring(pos, pos + digits), 16));
                        pos += digits;
                        continue;
                    }
                    text.append(switch (escaped) {
                        case 'n' -> '\n';
                        case 't' -> '\t';
                        case 'r' -> '\r';
                        case 'b' -> '\b';
                        case 'f' -> '\f';
                        case 'v' -> '\u000B';
                        case '\'', '"', '\\' -> escaped;
                        default -> throw new IllegalArgumentException("unknown escape \\" + escaped + " in a string literal");
                    });
                }
                tokens.add(new Token(Type.STRING, text.toString()));
                continue;
            }
            if (c >= '0' && c <= '9') {
                int start = pos;
                while (pos < n && Character.isDigit(src.charAt(pos)) && src.charAt(pos) < 128) {
                    pos++;
                }
                boolean afterDot = !tokens.isEmpty() && tokens.getLast().value().equals(".")
                        && tokens.getLast().type() == Type.SYMBOL;
                if (!afterDot && pos + 1 < n && src.charAt(pos) == '.' && isDigit(src.charAt(pos + 1))) {
                    pos++;
                    while (pos < n && isDigit(src.charAt(pos))) {
                        pos++;
                    }
                }
                tokens.add(new Token(Type.NUMBER, src.substring(start, pos)));
                continue;
            }
            if (isWord(c)) {
                int start = pos;
                while (pos < n && isWord(src.charAt(pos))) {
                    pos++;
                }
                tokens.add(new Token(Type.IDENTIFIER, src.substring(start, pos)));
                continue;
            }
            throw new IllegalArgumentException("unexpected character '" + c + "' at offset " + pos);
        }
        return tokens;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isWord(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '_';
    }

    private static int skipWhitespace(String src, int pos) {
        while (pos < src.length() && isWhitespace(src.charAt(pos))) {
            pos++;
        }
        return pos;
    }

    private static void stripTrailingWhitespace(List<Token> tokens) {
        if (!tokens.isEmpty() && tokens.getLast().type() == Type.TEXT) {
            String text = tokens.getLast().value();
            int end = text.length();
            while (end > 0 && isWhitespace(text.charAt(end - 1))) {
                end--;
            }
            tokens.removeLast();
            if (end > 0) {
                tokens.add(new Token(Type.TEXT, text.substring(0, end)));
            }
        }
    }

    // ---- statements

    private Node parseAny() {
        Token token = peek();
        return switch (token.type()) {
            case COMMENT -> {
                current++;
                yield new Text("");
            }
            case TEXT -> {
                current++;
                yield new Text(token.value());
            }
            case OPEN_STATEMENT -> parseStatement();
            case OPEN_EXPRESSION -> {
                current++;
                Expr value = parseExpression();
                expect(Type.CLOSE_EXPRESSION, "}}");
                yield new Output(value);
            }
            default -> throw error("unexpected '" + token.value() + "'");
        };
    }

    private Node parseStatement() {
        enter();
        expect(Type.OPEN_STATEMENT, "{%");
        Token keyword = next();
        if (keyword.type() != Type.IDENTIFIER) {
            throw error("a statement name is expected after {%");
        }
        Node result = switch (keyword.value()) {
            case "set" -> parseSet();
            case "if" -> {
                Node node = parseIf();
                endTag("endif");
                yield node;
            }
            case "for" -> {
                Node node = parseFor();
                endTag("endfor");
                yield node;
            }
            case "macro" -> {
                String name = identifier();
                List<Expr> parameters = parseArguments();
                expect(Type.CLOSE_STATEMENT, "%}");
                List<Node> body = parseUntil("endmacro");
                endTag("endmacro");
                yield new Macro(name, parameters, body);
            }
            case "call" -> {
                List<Expr> callerParameters = isSymbol("(") ? parseArguments() : List.of();
                Expr callee = new Expr.Name(identifier());
                var call = new Expr.Call(callee, parseArguments());
                expect(Type.CLOSE_STATEMENT, "%}");
                List<Node> body = parseUntil("endcall");
                endTag("endcall");
                yield new CallBlock(call, callerParameters, body);
            }
            case "filter" -> {
                Expr filter = new Expr.Name(identifier());
                if (isSymbol("(")) {
                    filter = new Expr.Call(filter, parseArguments());
                }
                expect(Type.CLOSE_STATEMENT, "%}");
                List<Node> body = parseUntil("endfilter");
                endTag("endfilter");
                yield new FilterBlock(filter, body);
            }
            case "break" -> {
                expect(Type.CLOSE_STATEMENT, "%}");
                yield new Break();
            }
            case "continue" -> {
                expect(Type.CLOSE_STATEMENT, "%}");
                yield new Continue();
            }
            default -> throw error("unknown statement '" + keyword.value() + "'");
        };
        nesting--;
        return result;
    }

    private Node parseSet() {
        Expr target = parseSequence(false);
        if (isSymbol("=")) {
            current++;
            Expr value = parseSequence(false);
            expect(Type.CLOSE_STATEMENT, "%}");
            return new Set(target, value, List.of());
        }
        expect(Type.CLOSE_STATEMENT, "%}");
        List<Node> body = parseUntil("endset");
        endTag("endset");
        return new Set(target, null, body);
    }

    private Node parseIf() {
        Expr test = parseExpression();
        expect(Type.CLOSE_STATEMENT, "%}");
        List<Node> body = parseUntil("elif", "else", "endif");
        List<Node> otherwise = List.of();
        if (isStatement("elif")) {
            current += 2;
            otherwise = List.of(parseIf());
        } else if (isStatement("else")) {
            current += 2;
            expect(Type.CLOSE_STATEMENT, "%}");
            otherwise = parseUntil("endif");
        }
        return new If(test, body, otherwise);
    }

    private Node parseFor() {
        Expr target = parseSequence(true);
        if (!(target instanceof Expr.Name || target instanceof Expr.ListLiteral)) {
            throw error("a for loop needs a name or names before 'in'");
        }
        if (!isIdentifier("in")) {
            throw error("'in' is expected in a for loop");
        }
        current++;
        Expr iterable = parseExpression();
        Expr filter = null;
        if (iterable instanceof Expr.Select select) {
            iterable = select.value();
            filter = select.test();
        }
        expect(Type.CLOSE_STATEMENT, "%}");
        List<Node> body = parseUntil("endfor", "else");
        List<Node> otherwise = List.of();
        if (isStatement("else")) {
            current += 2;
            expect(Type.CLOSE_STATEMENT, "%}");
            otherwise = parseUntil("endfor");
        }
        return new For(target, iterable, filter, body, otherwise);
    }

    private List<Node> parseUntil(String... ends) {
        var body = new ArrayList<Node>();
        while (!isStatement(ends)) {
            if (current >= tokens.size()) {
                throw error("the template ends before {% " + ends[ends.length - 1] + " %}");
            }
            body.add(parseAny());
        }
        return body;
    }

    private void endTag(String name) {
        expect(Type.OPEN_STATEMENT, "{%");
        if (!isIdentifier(name)) {
            throw error("{% " + name + " %} is expected");
        }
        current++;
        expect(Type.CLOSE_STATEMENT, "%}");
    }

    // ---- expressions

    private Expr parseSequence(boolean primary) {
        Expr first = primary ? parsePrimary() : parseExpression();
        if (!isSymbol(",")) {
            return first;
        }
        var items = new ArrayList<Expr>();
        items.add(first);
        while (isSymbol(",")) {
            current++;
            items.add(primary ? parsePrimary() : parseExpression());
        }
        return new Expr.ListLiteral(items, true);
    }

    private Expr parseExpression() {
        enter();
        Expr value = parseOr();
        if (isIdentifier("if")) {
            current++;
            Expr test = parseOr();
            if (isIdentifier("else")) {
                current++;
                value = new Expr.Ternary(test, value, parseExpression());
            } else {
                value = new Expr.Select(value, test);
            }
        }
        nesting--;
        return value;
    }

    private Expr parseOr() {
        Expr left = parseAnd();
        while (isIdentifier("or")) {
            current++;
            left = new Expr.Binary("or", left, parseAnd());
        }
        return left;
    }

    private Expr parseAnd() {
        Expr left = parseNot();
        while (isIdentifier("and")) {
            current++;
            left = new Expr.Binary("and", left, parseNot());
        }
        return left;
    }

    private Expr parseNot() {
        if (isIdentifier("not")) {
            current++;
            enter();
            Expr negated = new Expr.Unary("not", parseNot());
            nesting--;
            return negated;
        }
        return parseComparison();
    }

    private Expr parseComparison() {
        Expr left = parseAdditive();
        while (true) {
            String operator;
            if (isIdentifier("not") && current + 1 < tokens.size() && tokens.get(current + 1).type() == Type.IDENTIFIER
                    && tokens.get(current + 1).value().equals("in")) {
                operator = "not in";
                current += 2;
            } else if (isIdentifier("in")) {
                operator = "in";
                current++;
            } else if (isSymbol("==", "!=", "<", ">", "<=", ">=")) {
                operator = next().value();
            } else {
                return left;
            }
            left = new Expr.Binary(operator, left, parseAdditive());
        }
    }

    private Expr parseAdditive() {
        Expr left = parseMultiplicative();
        while (isSymbol("+", "-", "~")) {
            String operator = next().value();
            left = new Expr.Binary(operator, left, parseMultiplicative());
        }
        return left;
    }

    private Expr parseMultiplicative() {
        Expr left = parsePower();
        while (isSymbol("*", "/", "//", "%")) {
            String operator = next().value();
            left = new Expr.Binary(operator, left, parsePower());
        }
        return left;
    }

    private Expr parsePower() {
        Expr left = parseTest();
        while (isSymbol("**")) {
            current++;
            left = new Expr.Binary("**", left, parseTest());
        }
        return left;
    }

    private Expr parseTest() {
        Expr operand = parseFilter();
        while (isIdentifier("is")) {
            current++;
            boolean negated = isIdentifier("not");
            if (negated) {
                current++;
            }
            Token test = next();
            if (test.type() != Type.IDENTIFIER) {
                throw error("a test name is expected after 'is'");
            }
            operand = new Expr.Test(operand, negated, test.value());
        }
        return operand;
    }

    private Expr parseFilter() {
        Expr operand = parseUnarySign();
        while (isSymbol("|")) {
            current++;
            Expr filter = new Expr.Name(identifier());
            if (isSymbol("(")) {
                filter = new Expr.Call(filter, parseArguments());
            }
            operand = new Expr.Filter(operand, filter);
        }
        return operand;
    }

    private Expr parseUnarySign() {
        if (isSymbol("-", "+")) {
            String operator = next().value();
            enter();
            Expr signed = new Expr.Unary(operator, parseUnarySign());
            nesting--;
            return signed;
        }
        Expr value = parseMember(parsePrimary());
        while (isSymbol("(")) {
            value = parseMember(new Expr.Call(value, parseArguments()));
        }
        return value;
    }

    private Expr parseMember(Expr object) {
        while (isSymbol(".", "[")) {
            boolean computed = next().value().equals("[");
            if (computed) {
                object = new Expr.Member(object, parseSubscript(), true);
                expectSymbol("]");
            } else {
                Token name = next();
                if (name.type() != Type.IDENTIFIER && name.type() != Type.NUMBER) {
                    throw error("a name is expected after '.'");
                }
                Expr property = name.type() == Type.NUMBER ? new Expr.Literal(integer(name.value()))
                        : new Expr.Literal(name.value());
                object = new Expr.Member(object, property, false);
            }
        }
        return object;
    }

    private Expr parseSubscript() {
        var parts = new ArrayList<Expr>();
        boolean slice = false;
        while (!isSymbol("]")) {
            if (isSymbol(":")) {
                parts.add(null);
                current++;
                slice = true;
            } else {
                parts.add(parseExpression());
                if (isSymbol(":")) {
                    current++;
                    slice = true;
                }
            }
        }
        if (parts.isEmpty()) {
            throw error("a subscript needs an index or a slice");
        }
        if (!slice) {
            return parts.getFirst();
        }
        if (parts.size() > 3) {
            throw error("a slice has at most three parts");
        }
        while (parts.size() < 3) {
            parts.add(null);
        }
        return new Expr.Slice(parts.get(0), parts.get(1), parts.get(2));
    }

    private List<Expr> parseArguments() {
        expectSymbol("(");
        var args = new ArrayList<Expr>();
        while (!isSymbol(")")) {
            if (isSymbol("**") || isSymbol("*")) {
                boolean keywords = next().value().equals("**");
                args.add(new Expr.Spread(parseExpression(), keywords));
            } else {
                Expr argument = parseExpression();
                if (isSymbol("=")) {
                    current++;
                    if (!(argument instanceof Expr.Name name)) {
                        throw error("a keyword argument needs a name before '='");
                    }
                    argument = new Expr.Keyword(name.name(), parseExpression());
                }
                args.add(argument);
            }
            if (isSymbol(",")) {
                current++;
            } else if (!isSymbol(")")) {
                throw error("',' or ')' is expected in an argument list");
            }
        }
        current++;
        return args;
    }

    private Expr parsePrimary() {
        Token token = next();
        switch (token.type()) {
            case NUMBER -> {
                return token.value().contains(".") ? new Expr.Literal(Double.parseDouble(token.value()))
                        : new Expr.Literal(integer(token.value()));
            }
            case STRING -> {
                var value = new StringBuilder(token.value());
                while (current < tokens.size() && peek().type() == Type.STRING) {
                    value.append(next().value());
                }
                return new Expr.Literal(value.toString());
            }
            case IDENTIFIER -> {
                return new Expr.Name(token.value());
            }
            case SYMBOL -> {
                switch (token.value()) {
                    case "(" -> {
                        Expr value = parseSequence(false);
                        expectSymbol(")");
                        return value;
                    }
                    case "[" -> {
                        var items = new ArrayList<Expr>();
                        while (!isSymbol("]")) {
                            items.add(parseExpression());
                            if (isSymbol(",")) {
                                current++;
                            }
                        }
                        current++;
                        return new Expr.ListLiteral(items, false);
                    }
                    case "{" -> {
                        var entries = new LinkedHashMap<Expr, Expr>();
                        while (!isSymbol("}")) {
                            Expr key = parseExpression();
                            expectSymbol(":");
                            entries.put(key, parseExpression());
                            if (isSymbol(",")) {
                                current++;
                            }
                        }
                        current++;
                        return new Expr.DictLiteral(entries);
                    }
                    default -> throw error("unexpected '" + token.value() + "'");
                }
            }
            default -> throw error("unexpected '" + token.value() + "'");
        }
    }

    private long integer(String digits) {
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw error("the integer " + digits + " does not fit 64 bits");
        }
    }

    /** One level deeper; past {@link #MAX_NESTING} the template is refused before the parser's stack runs out. */
    private void enter() {
        if (++nesting > MAX_NESTING) {
            throw error("the template nests more than " + MAX_NESTING + " deep");
        }
    }

    // ---- token helpers

    private Token peek() {
        if (current >= tokens.size()) {
            throw new IllegalArgumentException("the template ends unexpectedly");
        }
        return tokens.get(current);
    }

    private Token next() {
        Token token = peek();
        current++;
        return token;
    }

    private String identifier() {
        Token token = next();
        if (token.type() != Type.IDENTIFIER) {
            throw error("a name is expected, got '" + token.value() + "'");
        }
        return token.value();
    }

    private boolean isSymbol(String... symbols) {
        if (current >= tokens.size() || tokens.get(current).type() != Type.SYMBOL) {
            return false;
        }
        return List.of(symbols).contains(tokens.get(current).value());
    }

    private boolean isIdentifier(String name) {
        return current < tokens.size() && tokens.get(current).type() == Type.IDENTIFIER
                && tokens.get(current).value().equals(name);
    }

    private boolean isStatement(String... names) {
        return current + 1 < tokens.size() && tokens.get(current).type() == Type.OPEN_STATEMENT
                && tokens.get(current + 1).type() == Type.IDENTIFIER
                && List.of(names).contains(tokens.get(current + 1).value());
    }

    private void expect(Type type, String text) {
        if (current >= tokens.size() || tokens.get(current).type() != type) {
            throw error("'" + text + "' is expected");
        }
        current++;
    }

    private void expectSymbol(String symbol) {
        if (!isSymbol(symbol)) {
            throw error("'" + symbol + "' is expected");
        }
        current++;
    }

    private IllegalArgumentException error(String message) {
        String near = current < tokens.size() ? tokens.get(current).value() : null;
        if (near != null && near.length() > 40) {
            near = near.substring(0, 40) + "...";
        }
        String at = near != null ? " near '" + near + "'" : " at the end";
        return new IllegalArgumentException("chat template syntax: " + message + at + " (token " + current + ")");
    }
}
