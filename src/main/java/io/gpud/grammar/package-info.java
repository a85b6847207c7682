/**
 * Structured output: a JSON Schema compiled into a constraint on which tokens a generation
 * may produce next, so that what the model writes always parses and validates
 * ({@code response_format} {@code json_object}/{@code json_schema}, Ollama's {@code format},
 * forced tool calls).
 *
 * <p>Read {@link io.gpud.grammar.StructuredOutput} (the entry: compile, wrap, start), then
 * the design essay on {@code Frame} (the automaton), then {@code SchemaConstraint} (masking
 * and the token budget) and {@code Vocabulary} (the token trie).
 *
 * <h2>How</h2>
 *
 * <p>The schema becomes a graph of shapes ({@code SchemaCompiler}), and the shapes drive a
 * byte-level pushdown automaton whose stack is a chain of immutable frames. A token is
 * allowed when its bytes ({@link io.gpud.inference.Tokenizer#tokenBytes}: sentencepiece
 * pieces with their spaces, byte-fallback tokens as their byte, byte-level BPE tokens as
 * their bytes, half a UTF-8 character included) lead the automaton somewhere. The allowed
 * set is found by walking a trie of the vocabulary's tokens from the current state and
 * dropping every subtree whose first byte the state refuses; inside a string, the tokens
 * that stay inside it are taken as a range by length instead of walked. Tokens without
 * bytes (control tokens) are never allowed, except one whose text is a piece of a
 * {@link io.gpud.inference.TokenConstraint wrapping} (Mistral's {@code [TOOL_CALLS]}); the
 * end-of-generation tokens only once the document is complete. The engine asks about the
 * token it drew first and masks only when it is refused, so a model that writes the JSON
 * it was asked for pays for a few automaton steps per token.
 *
 * <p>The budget: every state knows the length in bytes of its shortest finish, and a
 * token is allowed only if that finish, plus the end-of-generation token, still fits in
 * the tokens left after it. Each byte of a shortest finish is a token by itself (checked at
 * compile time), so a document always completes and ends with the end token within
 * {@code maxTokens}; {@code start} refuses a budget below the shortest document's.
 *
 * <h2>Why our own automaton</h2>
 *
 * <p>The engine needs, per step and on the scheduler thread, a token mask over the
 * vocabulary computed from a parser state, with a bound on the tokens needed to finish.
 * Schema validators on Maven Central (networknt's, which the tests use to check every
 * document) validate whole documents, not prefixes; grammar-constrained decoding
 * libraries (llguidance, XGrammar, Outlines) are Rust, C++ or Python and have no Java
 * binding on Maven Central. A JSON-only automaton is small enough to own: about a thousand
 * lines, no native code.
 *
 * <h2>What a schema may say</h2>
 *
 * <ul>
 *   <li>{@code type} (one or an array), {@code properties}, {@code required},
 *       {@code additionalProperties}, {@code propertyNames} (a string schema for the keys of
 *       a map, declared names checked against it), {@code enum}, {@code const},
 *       {@code anyOf}, {@code oneOf}, {@code $ref} within the schema ({@code #},
 *       {@code #/$defs/...}, {@code #/definitions/...}; recursion allowed through an object
 *       or an array, while a {@code $ref} that reaches itself through {@code $ref}s and
 *       alternatives alone is refused), {@code items},
 *       {@code prefixItems}, {@code minItems}/{@code maxItems}, {@code minLength}/{@code maxLength}
 *       (code points), {@code pattern}, {@code minimum}/{@code maximum}/{@code exclusiveMinimum}/{@code exclusiveMaximum},
 *       {@code format} {@code date}, {@code time}, {@code date-time}, {@code uuid},
 *       {@code email}, {@code hostname}, {@code ipv4}, {@code uri} (and
 *       {@code int32}/{@code int64}/{@code float}/{@code double} on numbers).</li>
 *   <li>Annotations are read and left: {@code $schema}, {@code $id}, {@code $comment},
 *       {@code title}, {@code description}, {@code default}, {@code examples},
 *       {@code deprecated}, {@code readOnly}, {@code writeOnly}.</li>
 *   <li>Everything else ({@code allOf}, {@code not}, {@code if},
 *       {@code patternProperties}, {@code minProperties}, {@code uniqueItems},
 *       {@code multipleOf}, other formats, ...) is refused with a
 *       {@link io.gpud.grammar.SchemaException} naming its JSON pointer, as are keywords
 *       that do not apply to the declared type and keywords beside {@code $ref},
 *       {@code anyOf}/{@code oneOf} or {@code enum}/{@code const}.</li>
 *   <li>A null schema means any JSON object.</li>
 * </ul>
 *
 * <h2>What is written, and the limits</h2>
 *
 * <ul>
 *   <li>Properties come in the schema's order, required ones never skipped, optional ones
 *       written or not; that is what OpenAI's strict mode does, and it keeps the automaton
 *       a chain. Strict and non-strict schemas compile the same way: the document satisfies
 *       the schema as written.</li>
 *   <li>An object with declared properties gets only those; undeclared keys are written
 *       only when an object declares none (a free object, {@code additionalProperties}
 *       giving their values). A free object may repeat a key (RFC 8259 allows it; parsers
 *       keep the last).</li>
 *   <li>{@code oneOf} is compiled as {@code anyOf}: a document matching two alternatives is
 *       not prevented, so alternatives should be disjoint (say, by a {@code const}
 *       discriminator). Equal alternatives cost nothing (they compile to one); a parser
 *       state keeps at most 256 parses, so overlapping alternatives nested deep lose some
 *       of the ways to go on (those with the longest finishes), never validity or the
 *       budget.</li>
 *   <li>Bounded numbers are written as integers in range, or, for {@code number}, with a
 *       fraction only where every fraction stays in range; a {@code number} range holding
 *       no integer is refused. Unbounded numbers: up to 16 integer and 16 fraction digits
 *       and a 2-digit exponent. Dates use days 01 to 28 (every one exists); times are UTC
 *       without fractions; UUIDs are lowercase.</li>
 *   <li>Whitespace: runs of at most 16 spaces, newlines or tabs between tokens, none
 *       between a key and its colon; nesting of free values at most 64 deep; string escapes
 *       {@code \"}, {@code \\}, {@code \/}, {@code \b}, {@code \f}, {@code \n}, {@code \r},
 *       {@code \t} and <code>&#92;u0XXX</code>.</li>
 *   <li>{@code pattern} ({@code Regex}, {@code PatternText}): the ECMA-262 subset schema
 *       writers use (classes, escapes, groups, alternation, greedy and lazy quantifiers,
 *       {@code ^}/{@code $} at the ends; without them the pattern matches anywhere, as JSON
 *       Schema says) becomes a deterministic automaton over code points, walked byte by byte
 *       inside the string with the code points written, so it combines with
 *       {@code minLength}/{@code maxLength} and every state knows its shortest finish.
 *       Backreferences, lookaround, word boundaries, flags and property escapes are refused,
 *       as are automata beyond a few thousand states and {@code {n,m}} beyond 1000. The
 *       characters a JSON string escapes ({@code "}, {@code \}, controls) are written, escaped,
 *       only where the pattern names them; {@code .}, negated classes and shorthand escapes
 *       never write them, and <code>&#92;s</code> writes a space, so what is written also
 *       matches under java.util.regex. The formats {@code email}, {@code hostname},
 *       {@code ipv4} and {@code uri} are patterns ({@code Formats}) intersected with a
 *       {@code pattern} beside them: practical subsets strict validators accept (hosts end
 *       in a common top-level domain; an email is at most 64 characters; a URI is
 *       {@code scheme://host/path?query} without percent-encoding); a pattern beside
 *       {@code date}, {@code time}, {@code date-time} or {@code uuid} is refused.</li>
 *   <li>The budget counts one token per byte of the shortest finish, so it is safe rather
 *       than tight: a model that would close in fewer, longer tokens is stopped from
 *       spending its last few tokens on anything else.</li>
 * </ul>
 */
package io.gpud.grammar;
