package io.gpud.inference;

import io.gpud.model.GgmlType;
import io.gpud.model.GgufValue;
import io.gpud.model.GgufWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Writes a small random-weight Llama model as a GGUF file, so a fresh checkout can serve
 * requests without downloading anything ({@code gpud run --demo}) and tests have a model
 * with a tokenizer.
 *
 * <p>Shape: dim 64, hidden 192, 2 layers, 4 heads, 2 KV heads, context 2048 (room for a
 * tool round trip in its chat template, a character a token). The weights
 * are Gaussian noise from the seed, so the same seed writes the same file. The vocabulary is
 * byte-level sentencepiece ({@code tokenizer.ggml.model = "llama"}): {@code <unk>},
 * {@code <s>}, {@code </s>}, the 256 byte tokens {@code <0x00>}..{@code <0xFF>} (ids 3 to
 * 258, as in llama2.c) and {@code ▁} (the space, id 259, which carries the dummy prefix), so
 * any text round-trips. The untied classifier has zero rows for every token except the
 * printable ASCII bytes, newline and {@code ▁}: generated text is readable (if
 * meaningless), and the model ends a generation only by length or a stop sequence.
 *
 * <p>Its chat template ({@link #CHAT_TEMPLATE}) is a short ChatML of gpud's own with a tool
 * section and Hermes {@code <tool_call>} blocks, so clients can run a tool round trip on it
 * (forced calls, {@code tool_choice} required or named, give well-formed calls even from
 * random weights) and Open WebUI's thinking switch has a {@code <think>} section to open.
 */
public final class DemoModel {
    public static final int DIM = 64;
    public static final int HIDDEN_DIM = 192;
    public static final int LAYERS = 2;
    public static final int HEADS = 4;
    public static final int KV_HEADS = 2;
    public static final int CONTEXT_LENGTH = 2048;
    /** Id of the first byte token {@code <0x00>}; byte b is {@code BYTE_TOKEN_OFFSET + b}. */
    public static final int BYTE_TOKEN_OFFSET = 3;
    /** Id of {@code ▁}, the space piece. */
    public static final int SPACE_TOKEN = BYTE_TOKEN_OFFSET + 256;
    public static final int VOCAB_SIZE = SPACE_TOKEN + 1;
    /**
     * The chat template: ChatML turns ({@code <|im_start|>role\n...<|im_end|>\n}); a system
     * turn listing the offered tools as JSON and asking for {@code <tool_call>} blocks; an
     * assistant turn showing its reasoning in {@code <think>} and its calls as
     * {@code <tool_call>\n{"name": ..., "arguments": ...}\n</tool_call>}; tool results as
     * {@code tool} turns; and, with the option {@code enable_thinking} true, a generation
     * prompt that opens {@code <think>}. Every character is a token of this model, so it is
     * kept short.
     */
    public static final String CHAT_TEMPLATE = """
            {%- macro text(content) -%}
                {%- if content is string -%}{{ content }}{%- else -%}
                    {%- for part in content -%}{{ part.text }}{%- endfor -%}
                {%- endif -%}
            {%- endmacro -%}
            {%- set system = '' -%}
            {%- if messages and messages[0].role == 'system' -%}
                {%- set system = text(messages[0].content) -%}
                {%- set messages = messages[1:] -%}
            {%- endif -%}
            {%- if system or tools -%}
                {{- '<|im_start|>system\\n' + system -}}
                {%- if tools -%}
                    {%- if system %}{{ '\\n\\n' }}{% endif -%}
                    {{- 'Tools (call one as <tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>):' -}}
                    {%- for tool in tools %}{{ '\\n' + tool | tojson }}{% endfor -%}
                {%- endif -%}
                {{- '<|im_end|>\\n' -}}
            {%- endif -%}
            {%- for message in messages -%}
                {{- '<|im_start|>' + message.role + '\\n' -}}
                {%- if message.reasoning_content -%}
                    {{- '<think>\\n' + message.reasoning_content + '\\n</think>\\n' -}}
                {%- endif -%}
                {{- text(message.content) -}}
                {%- if message.tool_calls -%}
                    {%- for call in message.tool_calls -%}
                        {%- if message.content or not loop.first %}{{ '\\n' }}{% endif -%}
                        {{- '<tool_call>\\n{"name": ' + call.function.name | tojson + ', "arguments": ' -}}
                        {%- if call.function.arguments is string -%}{{ call.function.arguments }}
                        {%- else -%}{{ call.function.arguments | tojson }}{%- endif -%}
                        {{- '}\\n</tool_call>' -}}
                    {%- endfor -%}
                {%- endif -%}
                {{- '<|im_end|>\\n' -}}
            {%- endfor -%}
            {%- if add_generation_prompt -%}
                {{- '<|im_start|>assistant\\n' -}}
                {%- if enable_thinking is defined and enable_thinking %}{{ '<think>\\n' }}{% endif -%}
            {%- endif -%}
            """;

    private DemoModel() {
    }

    /** Writes the demo model with F32 weights. */
    public static void write(Path file, long seed) {
        write(file, seed, GgmlType.F32);
    }

    /** Writes the demo model with {@code type} matrices (F32, F16, BF16, Q8_0 or Q4_0). */
    public static void write(Path file, long seed, GgmlType type) {
        var random = new SplittableRandom(seed);
        int kvDim = KV_HEADS * (DIM / HEADS);
        var writer = new GgufWriter()
                .put("general.architecture", GgufValue.string("llama"))
                .put("general.name", GgufValue.string("gpud-demo"))
                .put("llama.context_length", GgufValue.uint32(CONTEXT_LENGTH))
                .put("llama.embedding_length", GgufValue.uint32(DIM))
                .put("llama.feed_forward_length", GgufValue.uint32(HIDDEN_DIM))
                .put("llama.block_count", GgufValue.uint32(LAYERS))
                .put("llama.attention.head_count", GgufValue.uint32(HEADS))
                .put("llama.attention.head_count_kv", GgufValue.uint32(KV_HEADS))
                .put("llama.rope.freq_base", GgufValue.float32(10000f))
                .put("llama.attention.layer_norm_rms_epsilon", GgufValue.float32(1e-5f))
                .put("tokenizer.ggml.model", GgufValue.string("llama"))
                .put("tokenizer.ggml.tokens", GgufValue.stringArray(pieces()))
                .put("tokenizer.ggml.scores", GgufValue.float32Array(new float[VOCAB_SIZE]))
                .put("tokenizer.ggml.token_type", GgufValue.int32Array(tokenTypes()))
                .put("tokenizer.ggml.bos_token_id", GgufValue.uint32(1))
                .put("tokenizer.ggml.eos_token_id", GgufValue.uint32(2))
                .put("tokenizer.ggml.unknown_token_id", GgufValue.uint32(0))
                .put("tokenizer.chat_template", GgufValue.string(CHAT_TEMPLATE));

        float scale = (float) (1 / Math.sqrt(DIM));
        writer.tensor("token_embd.weight", type, dims(DIM, VOCAB_SIZE), gaussian(random, VOCAB_SIZE * DIM, 1f));
        for (int l = 0; l < LAYERS; l++) {
            String block = "blk." + l + ".";
            writer.tensor(block + "attn_norm.weight", GgmlType.F32, new long[] {DIM}, ones(DIM))
                    .tensor(block + "attn_q.weight", type, dims(DIM, DIM), gaussian(random, DIM * DIM, scale))
                    .tensor(block + "attn_k.weight", type, dims(DIM, kvDim), gaussian(random, kvDim * DIM, scale))
                    .tensor(block + "attn_v.weight", type, dims(DIM, kvDim), gaussian(random, kvDim * DIM, scale))
                    .tensor(block + "attn_output.weight", type, dims(DIM, DIM), gaussian(random, DIM * DIM, scale))
                    .tensor(block + "ffn_norm.weight", GgmlType.F32, new long[] {DIM}, ones(DIM))
                    .tensor(block + "ffn_gate.weight", type, dims(DIM, HIDDEN_DIM),
                            gaussian(random, HIDDEN_DIM * DIM, scale))
                    .tensor(block + "ffn_up.weight", type, dims(DIM, HIDDEN_DIM),
                            gaussian(random, HIDDEN_DIM * DIM, scale))
                    .tensor(block + "ffn_down.weight", type, dims(HIDDEN_DIM, DIM),
                            gaussian(random, DIM * HIDDEN_DIM, (float) (1 / Math.sqrt(HIDDEN_DIM))));
        }
        writer.tensor("output_norm.weight", GgmlType.F32, new long[] {DIM}, ones(DIM));
        writer.tensor("output.weight", type, dims(DIM, VOCAB_SIZE), readableClassifier(random));
        writer.write(file);
    }

    /** The GGUF spelling of the vocabulary. */
    private static List<String> pieces() {
        var pieces = new ArrayList<String>(VOCAB_SIZE);
        pieces.addAll(List.of("<unk>", "<s>", "</s>"));
        for (int b = 0; b < 256; b++) {
            pieces.add("<0x%02X>".formatted(b));
        }
        pieces.add("\u2581");
        return pieces;
    }

    private static int[] tokenTypes() {
        int[] types = new int[VOCAB_SIZE];
        types[0] = SentencePieceTokenizer.UNKNOWN;
        types[1] = SentencePieceTokenizer.CONTROL;
        types[2] = SentencePieceTokenizer.CONTROL;
        for (int b = 0; b < 256; b++) {
            types[BYTE_TOKEN_OFFSET + b] = SentencePieceTokenizer.BYTE;
        }
        types[SPACE_TOKEN] = SentencePieceTokenizer.NORMAL;
        return types;
    }

    /** (vocab, dim): random rows for printable ASCII, newline and ▁; zero rows otherwise. */
    private static float[] readableClassifier(SplittableRandom random) {
        float[] weights = new float[VOCAB_SIZE * DIM];
        for (int token = 0; token < VOCAB_SIZE; token++) {
            int b = token - BYTE_TOKEN_OFFSET;
            boolean readable = token == SPACE_TOKEN || b == '\n' || (b >= 0x20 && b < 0x7F);
            if (readable) {
                for (int i = 0; i < DIM; i++) {
                    weights[token * DIM + i] = (float) random.nextGaussian();
                }
            }
        }
        return weights;
    }

    /** GGUF dims of a matrix with {@code rows} rows of {@code cols}: [cols, rows]. */
    private static long[] dims(int cols, int rows) {
        return new long[] {cols, rows};
    }

    private static float[] gaussian(SplittableRandom random, int n, float scale) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) random.nextGaussian() * scale;
        }
        return values;
    }

    private static float[] ones(int n) {
        float[] values = new float[n];
        Arrays.fill(values, 1f);
        return values;
    }
}
