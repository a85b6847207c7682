package io.gpud.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gpud.inference.DemoModel;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class GenerateCommandTest {
    private static final Path STORIES = Path.of("../shared/models/stories260K.bin");

    @TempDir
    Path dir;

    private record Result(int exitCode, String out, String err) {
    }

    private static Result generate(String... args) {
        var out = new StringWriter();
        var err = new StringWriter();
        var cli = new CommandLine(new GenerateCommand());
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int exitCode = cli.execute(args);
        return new Result(exitCode, out.toString(), err.toString());
    }

    @Test
    void idsInIdsOutNeedNoTokenizer() {
        Assumptions.assumeTrue(Files.exists(STORIES), "skipped: " + STORIES + " is absent");
        Result result = generate("--model", STORIES.toString(), "--prompt-ids", "1", "--temperature", "0",
                "--max-tokens", "5", "--print-ids");
        assertEquals(0, result.exitCode(), result.err());
        assertEquals("461 461 401 401 401", result.out().strip());
    }

    @Test
    void textPromptStreamsText() {
        Path model = dir.resolve("demo.gguf");
        DemoModel.write(model, 1);
        Result result = generate("--model", model.toString(), "--prompt", "Hello", "--max-tokens", "12",
                "--temperature", "0");
        assertEquals(0, result.exitCode(), result.err());
        // each demo token is one printable ASCII character, space or newline; then a final newline
        String out = result.out().replace(System.lineSeparator(), "\n");
        assertEquals(13, out.length(), out);
        assertTrue(out.chars().allMatch(c -> c == '\n' || (c >= 0x20 && c < 0x7F)), out);
    }

    @Test
    void warmupPrintsOnlyTheMeasuredRunAndBothRates() {
        Path model = dir.resolve("demo.gguf");
        DemoModel.write(model, 1);
        String[] args = {"--model", model.toString(), "--prompt-ids", "1,5,9,13,17,21", "--max-tokens", "8",
                "--temperature", "0", "--ignore-eos", "--print-ids", "--batch-tokens", "4"};
        Result plain = generate(args);
        String[] warmed = Arrays.copyOf(args, args.length + 1);
        warmed[args.length] = "--warmup";
        Result result = generate(warmed);
        assertEquals(0, result.exitCode(), result.err());
        assertEquals(plain.out(), result.out(), "the warm-up run prints nothing of its own");
        assertEquals(8, result.out().strip().split(" ").length, result.out());
        assertTrue(result.err().matches("(?s)prompt tok/s: [0-9.]+\\R+achieved tok/s: [0-9.]+\\R*"), result.err());
    }

    @Test
    void textWithoutTokenizerIsOneLineOnStderrAndExitCodeOne() {
        Assumptions.assumeTrue(Files.exists(STORIES), "skipped: " + STORIES + " is absent");
        Result result = generate("--model", STORIES.toString(), "--prompt", "hi");
        assertEquals(1, result.exitCode());
        assertTrue(result.err().startsWith("gpud generate: ") && result.err().contains("without a tokenizer"),
                result.err());
        assertEquals(1, result.err().strip().lines().count());
    }

    @Test
    void missingFileIsExitCodeOne() {
        Result result = generate("--model", dir.resolve("absent.gguf").toString(), "--prompt-ids", "1", "--print-ids");
        assertEquals(1, result.exitCode());
        assertTrue(result.err().contains("does not exist"), result.err());
    }

    @Test
    void badArgumentsAreExitCodeTwo() {
        assertEquals(2, generate("--prompt", "x").exitCode());
        assertEquals(2, generate("--model", "m", "--prompt", "x", "--prompt-ids", "1").exitCode());
        assertEquals(2, generate("--model", "m", "--prompt-ids", "a,b").exitCode());
    }
}
