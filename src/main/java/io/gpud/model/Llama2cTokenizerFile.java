package io.gpud.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A llama2.c {@code tokenizer.bin}: int32 max_token_length, then per token a float32 score,
 * an int32 byte length and that many bytes (UTF-8 text; spaces are plain spaces, byte
 * tokens are spelled {@code <0xXX>}). The file does not store the vocabulary size: readers
 * take the first {@code vocabSize} entries, as llama2.c does.
 *
 * @param maxTokenLength the longest piece in bytes, as the file says
 * @param pieces         the token texts, as raw bytes, by id
 * @param scores         merge scores by id (higher merges first)
 */
public record Llama2cTokenizerFile(int maxTokenLength, List<byte[]> pieces, float[] scores) {

    public Llama2cTokenizerFile {
        pieces = List.copyOf(pieces);
        scores = scores.clone();
    }

    @Override
    public float[] scores() {
        return scores.clone();
    }

    /** Reads the first {@code vocabSize} tokens, or all of them when {@code vocabSize} is -1. */
    public static Llama2cTokenizerFile read(Path path, int vocabSize) {
        byte[] bytes;
        try {
            long size = Files.size(path);
            if (size > Integer.MAX_VALUE - 8) {
                throw new ModelFormatException(path + ": tokenizer file is " + size + " bytes, too large");
            }
            bytes = Files.readAllBytes(path);
        } catch (IOException e) {
            throw new ModelFormatException("cannot read tokenizer " + path + ": " + e.getMessage(), e);
        }
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (in.remaining() < 4) {
            throw new ModelFormatException(path + ": tokenizer file is " + bytes.length + " bytes, too short for its header");
        }
        int maxTokenLength = in.getInt();
        if (maxTokenLength <= 0 || maxTokenLength > bytes.length) {
            throw new ModelFormatException(path + ": tokenizer max_token_length was " + maxTokenLength
                    + ", must be in 1.." + bytes.length);
        }
        var pieces = new ArrayList<byte[]>();
        var scores = new ArrayList<Float>();
        while (vocabSize < 0 ? in.hasRemaining() : pieces.size() < vocabSize) {
            int id = pieces.size();
            if (in.remaining() < 8) {
                throw new ModelFormatException(path + ": token " + id + " at offset " + in.position()
                        + " is cut off: the file is " + bytes.length + " bytes"
                        + (vocabSize < 0 ? "" : " and the model needs " + vocabSize + " tokens"));
            }
            float score = in.getFloat();
            int length = in.getInt();
            if (length < 0 || length > in.remaining()) {
                throw new ModelFormatException(path + ": token " + id + " claims " + length + " bytes at offset "
                        + in.position() + ", " + in.remaining() + " bytes are left");
            }
            byte[] piece = new byte[length];
            in.get(piece);
            pieces.add(piece);
            scores.add(score);
        }
        float[] scoreArray = new float[scores.size()];
        for (int i = 0; i < scoreArray.length; i++) {
            scoreArray[i] = scores.get(i);
        }
        return new Llama2cTokenizerFile(maxTokenLength, pieces, scoreArray);
    }
}
