package io.gpud.inference;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Texts that tokenizers must encode exactly as Hugging Face's do: hand-written cases for
 * the hard corners (whitespace runs, digits, contractions, special-token look-alikes, lone
 * surrogates, combining marks, emoji sequences, very long words) and a seeded generator
 * that mixes scripts, code, emoji, whitespace and digits at random. The same seed always
 * gives the same corpus.
 */
final class TokenizerCorpus {
    private static final String[] WORDS = {
        // Latin, with accents and apostrophes
        "Hello", "world", "the", "don't", "it's", "WE'LL", "they'RE", "I'm", "you've", "she'd", "l'été", "naïve",
        "Straße", "façade", "über", "Ærø", "œuvre", "İstanbul", "ﬁnance", "café", "DÉJÀ", "vu", "O'Neil", "rock'n'roll",
        // Cyrillic, Greek
        "Привет", "мир", "съешь", "ещё", "Ελληνικά", "λόγος",
        // CJK, Japanese, Korean
        "你好", "世界", "中华人民共和国", "東京都", "ひらがな", "カタカナ", "こんにちは", "안녕하세요", "한국어", "갛",
        // Arabic, Hebrew, Hindi, Thai, others
        "مرحبا", "بالعالم", "العربية", "שלום", "नमस्ते", "हिन्दी", "क्षत्रिय", "สวัสดี", "ภาษาไทย", "ሰላም", "Ⴀ",
        "ຍິນດີ", "தமிழ்", "বাংলা", "ગુજરાતી",
        // combining marks, decomposed forms
        "e\u0301", "a\u0300\u0316", "n\u0303o", "Z\u0351\u036b\u0343\u036a\u0302\u036b", "\u1100\u1161\u11a8",
        // code
        "def", "return", "self.x", "0x1F", "i++", "->", "=>", "::", "&&", "||", "!=", "===", "#include", "<stdio.h>",
        "std::vector<int>", "fn", "main()", "{", "}", "[];", "/*", "*/", "//", "#!/bin/sh", "$HOME", "@Override",
        // numbers
        "0", "7", "42", "123", "1234", "12345", "3.14159", "1,000,000", "٣٤٥", "१२३", "Ⅻ", "½", "²",
        // emoji: plain, skin tone, ZWJ, flags, keycaps
        "🙂", "🦙", "🚀", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵", "🇺🇸🇫🇷", "1️⃣", "❤️", "🧑🏿‍🦯",
    };
    private static final String[] SPECIAL_LOOKALIKES = {
        "<|im_start|>", "<|im_end|>", "<|eot_id|>", "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
        "<|endoftext|>", "<s>", "</s>", "<unk>", "<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>", "[INST]",
        "[/INST]", "<think>", "</think>", "<tool_call>", "<|im_start", "|im_end|>", "<|eot_id", "<s", "/s>", "< s>",
        "<|IM_START|>", "<<s>>", "<|<|eot_id|>|>", "<unused0>", "<mask>", "<0x41>", "▁", "▁▁hello", "<pad>",
    };
    private static final String[] CODE = {
        "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
        "public static void main(String[] args) {\n\tSystem.out.println(\"hi\");\n}\n",
        "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; }",
        "fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n}",
        "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
        "const f = async (x) => { await fetch(`/api/${x}`); };",
        "<div class=\"a\">\n  <span>&amp;&lt;</span>\n</div>",
        "{\"key\": [1, 2.5, null, true], \"nested\": {\"a\": \"b\"}}",
        "    \t  mixed indentation\r\n\r\n",
        "if (a != b && c <= d || !e) { x += 1; y -= 2; z **= 3; }",
    };
    private static final String[] SPACES = {" ", "  ", "   ", "    ", "\t", "\t\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0",
        "\u3000", "\u2009", "\u200b", "\u0085", "\ufeff", "\u000b", "\u000c", " \t\n"};

    private static final String PUNCTUATION = ".,;:!?'\"()[]{}<>-_/\\|@#$%^&*+=~`'…“”„«»¿¡·、。";

    private TokenizerCorpus() {
    }

    /** The hand-written cases, then {@code generated} seeded random ones. */
    static List<String> texts(int generated, long seed) {
        var texts = new ArrayList<String>(handWritten());
        var random = new Random(seed);
        for (int i = 0; i < generated; i++) {
            texts.add(randomText(random));
        }
        return texts;
    }

    private static List<String> handWritten() {
        var texts = new ArrayList<>(List.of(
                "", " ", "  ", "\n", "\t", "a", " a", "a ", "  leading", "trailing  ", "\n\nnewlines first",
                "last newlines\n\n", "Hello world", "Hello, world!", "hello   world", "hello\tworld\n",
                "I believe the meaning of life is", "The quick brown fox jumps over the lazy dog.",
                "It's, isn't, we'll, they've, I'd, you're, I'M, IT'S", "don’t curly apostrophe’s",
                "1", "12", "123", "1234", "12345", "123456", "1234567", "12345678901234567890", "3.14 and 2,718",
                "a1b22c333d4444", "digits 0001 000 00", "١٢٣٤٥٦", "x² + y² = z²",
                "你好，世界！", "日本語のテキスト、句読点。", "한국어 텍스트입니다.", "مرحبا بالعالم", "नमस्ते दुनिया",
                "สวัสดีชาวโลก", "Привет, мир!", "Ελληνικά κείμενα", "שלום עולם", "e\u0301e\u0301e\u0301", "ǅungla",
                "🙂🙂🙂", "👩‍👩‍👧‍👦 family", "🇩🇪🇫🇷🇮🇹", "🏳️‍⚧️", "emoji🦙inside", "👍🏻👍🏼👍🏽👍🏾👍🏿",
                "\ud800", "\udc00", "a\ud800b", "\udc00\ud800", "x\ud83d", "\ud83dx", "\ud83d\ude00\ud83d",
                "\u0000", "\u0000\u0001\u001f", "\u007f\u0080\u009f", "\uffff", "\ufffd", "\ufeffBOM",
                "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
                "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
                "<s>[INST] hi [/INST]", "<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n",
                "text<s>text</s>text", " <s> spaced </s> ", "<s><s></s></s>", "<|im_start", "<|im_start|",
                "<|eot_id|><|eot_id|>", "<think>\nreasoning\n</think>\n\nanswer", "<tool_call>{}</tool_call>",
                "▁", "▁▁", "a▁b", "▁hello▁world", " ▁ ", "\u2581\u2581 x"));
        texts.addAll(List.of(CODE));
        texts.addAll(List.of(SPECIAL_LOOKALIKES));
        for (String s : SPACES) {
            texts.add(s + "x" + s + "y" + s);
            texts.add(s.repeat(5));
        }
        for (int n : new int[] {1, 2, 3, 4, 5, 7, 16, 33, 100}) {
            texts.add(" ".repeat(n) + "x");
            texts.add("x" + " ".repeat(n));
            texts.add("\n".repeat(n));
            texts.add("9".repeat(n));
        }
        texts.add("a".repeat(3000));
        texts.add("supercalifragilisticexpialidocious".repeat(40));
        texts.add("中".repeat(1000));
        texts.add("😀".repeat(300));
        texts.add("ab".repeat(700) + " " + "xyz".repeat(300));
        texts.add(String.join(" ", WORDS));
        return texts;
    }

    private static String randomText(Random random) {
        var text = new StringBuilder();
        int parts = 1 + random.nextInt(random.nextInt(10) < 8 ? 8 : 40);
        for (int p = 0; p < parts; p++) {
            switch (random.nextInt(14)) {
                case 0, 1, 2, 3 -> text.append(WORDS[random.nextInt(WORDS.length)]);
                case 4 -> text.append(SPACES[random.nextInt(SPACES.length)]);
                case 5 -> text.append(" ".repeat(1 + random.nextInt(3)));
                case 6 -> text.append(digits(random, 1 + random.nextInt(random.nextBoolean() ? 4 : 25)));
                case 7 -> text.append(SPECIAL_LOOKALIKES[random.nextInt(SPECIAL_LOOKALIKES.length)]);
                case 8 -> text.append(CODE[random.nextInt(CODE.length)]);
                case 9 -> text.append(randomCodePoints(random, 1 + random.nextInt(12)));
                case 10 -> text.append(PUNCTUATION.charAt(random.nextInt(PUNCTUATION.length())));
                case 11 -> text.append(random.nextInt(30) == 0 ? surrogate(random) : "'s");
                case 12 -> text.append(Character.toString('a' + random.nextInt(26)).repeat(1 + random.nextInt(60)));
                default -> text.append(random.nextBoolean() ? ' ' : '\n').append(WORDS[random.nextInt(WORDS.length)]);
            }
        }
        return text.toString();
    }

    private static String digits(Random random, int n) {
        var s = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            s.append((char) ('0' + random.nextInt(10)));
        }
        return s.toString();
    }

    /** Code points from a random block: CJK, Hangul, Arabic, Devanagari, Thai, Cyrillic, marks, emoji, ... */
    private static String randomCodePoints(Random random, int n) {
        int[][] blocks = {{0x4E00, 0x9FFF}, {0xAC00, 0xD7A3}, {0x0600, 0x06FF}, {0x0900, 0x097F}, {0x0E00, 0x0E7F},
            {0x0400, 0x04FF}, {0x0300, 0x036F}, {0x1F300, 0x1FAFF}, {0x00A0, 0x024F}, {0x3040, 0x30FF},
            {0x0590, 0x05FF}, {0x2000, 0x206F}, {0x20000, 0x2A6DF}, {0x0000, 0x007F}, {0xE000, 0xE0FF}};
        int[] block = blocks[random.nextInt(blocks.length)];
        var s = new StringBuilder();
        for (int i = 0; i < n; i++) {
            s.appendCodePoint(block[0] + random.nextInt(block[1] - block[0] + 1));
        }
        return s.toString();
    }

    private static String surrogate(Random random) {
        return String.valueOf((char) (random.nextBoolean() ? 0xD800 + random.nextInt(0x400) : 0xDC00 + random.nextInt(0x400)));
    }
}
