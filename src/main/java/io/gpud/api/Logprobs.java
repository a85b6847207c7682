package io.gpud.api;

import io.gpud.inference.TokenLogprobs;
import io.gpud.inference.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tokens' log-probabilities in OpenAI's two shapes: a chat's {@code logprobs.content[]}
 * ({@code token}, {@code logprob}, {@code bytes}, {@code top_logprobs}) and a text
 * completion's {@code logprobs} ({@code tokens}, {@code token_logprobs},
 * {@code top_logprobs}, {@code text_offset}). A token's text is its bytes read as UTF-8,
 * so a token holding part of a character shows a replacement character, and its
 * {@code bytes} say exactly what it holds.
 */
final class Logprobs {

    private Logprobs() {
    }

    /** One alternative token. */
    record Alternative(String token, float logprob, int[] bytes) {
    }

    /** One sampled token and the most likely alternatives. */
    record Token(String token, float logprob, int[] bytes, List<Alternative> topLogprobs) {
    }

    /** A chat choice's {@code logprobs}. */
    record Chat(List<Token> content, String refusal) {
    }

    /** A text completion choice's {@code logprobs}. */
    record Text(List<String> tokens, List<Float> tokenLogprobs, List<Map<String, Float>> topLogprobs,
                List<Integer> textOffset) {
    }

    /** The chat shape of {@code logprobs}. */
    static Chat chat(List<TokenLogprobs> logprobs, Tokenizer tokenizer) {
        var content = new ArrayList<Token>(logprobs.size());
        for (TokenLogprobs t : logprobs) {
            var top = new ArrayList<Alternative>(t.topTokens().length);
            for (int i = 0; i < t.topTokens().length; i++) {
                byte[] bytes = tokenizer.tokenBytes(t.topTokens()[i]);
                top.add(new Alternative(text(bytes), t.topLogprobs()[i], unsigned(bytes)));
            }
            byte[] bytes = tokenizer.tokenBytes(t.token());
            content.add(new Token(text(bytes), t.logprob(), unsigned(bytes), top));
        }
        return new Chat(content, null);
    }

    /**
     * The text-completion shape of {@code logprobs}.
     *
     * @param offset where the first token's text begins in the choice's text; advanced past the last
     */
    static Text text(List<TokenLogprobs> logprobs, Tokenizer tokenizer, int[] offset) {
        var tokens = new ArrayList<String>(logprobs.size());
        var values = new ArrayList<Float>(logprobs.size());
        var tops = new ArrayList<Map<String, Float>>(logprobs.size());
        var offsets = new ArrayList<Integer>(logprobs.size());
        for (TokenLogprobs t : logprobs) {
            String token = text(tokenizer.tokenBytes(t.token()));
            tokens.add(token);
            values.add(t.logprob());
            var top = new LinkedHashMap<String, Float>();
            for (int i = 0; i < t.topTokens().length; i++) {
                top.putIfAbsent(text(tokenizer.tokenBytes(t.topTokens()[i])), t.topLogprobs()[i]);
            }
            tops.add(top);
            offsets.add(offset[0]);
            offset[0] += token.length();
        }
        return new Text(tokens, values, tops, offsets);
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static int[] unsigned(byte[] bytes) {
        int[] out = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = bytes[i] & 0xff;
        }
        return out;
    }
}
