package io.gpud.inference.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The committed kernels are on the class path, built from the sources as they are now, and
 * hold every kernel the engine looks up; where nvcc is installed, a fresh compile agrees.
 */
class KernelImageTest {
    private static final Path SCRIPT = Path.of("src/main/cuda/build-kernels.sh");

    @Test
    void resourcesHoldEveryKernelAsPtxIsa80ForSm80() {
        KernelImage image = KernelImage.load();
        assertTrue(image.fatbin().length > 1000, "fatbin of " + image.fatbin().length + " bytes");
        assertEquals(0, image.ptx()[image.ptx().length - 1], "PTX is handed to the driver as a C string");
        String ptx = image.ptxText();
        assertTrue(ptx.contains("\n.version 8.0\n"), "PTX ISA version is 8.0 so r525+ drivers JIT it");
        assertTrue(ptx.contains("\n.target sm_80\n"), "PTX targets sm_80");
        assertEquals(new TreeSet<>(KernelImage.KERNELS), entries(ptx));
    }

    @Test
    void committedKernelsWereBuiltFromTheCurrentSources() throws Exception {
        String hash = run(SCRIPT.toString(), "--hash").strip();
        assertEquals(hash, KernelImage.load().sourcesHash(),
                "src/main/cuda changed since the committed kernels were built: run src/main/cuda/build-kernels.sh "
                        + "--update (needs nvcc) and commit src/main/resources/io/gpud/inference/cuda");
    }

    /** With nvcc, the sources compile to the same kernels; skipped (and said so) without it. */
    @Test
    void nvccCompilesTheSameKernels(@TempDir Path dir) throws Exception {
        String output = run(SCRIPT.toString(), "--build", dir.toString());
        if (output.contains("nvcc not found")) {
            System.out.println("KernelImageTest: nvcc not found, the fresh-compile comparison is skipped");
            return;
        }
        String fresh = Files.readString(dir.resolve("llama.ptx"), StandardCharsets.US_ASCII);
        assertEquals(entries(KernelImage.load().ptxText()), entries(fresh));
        assertTrue(fresh.contains("\n.version 8.0\n"));
        assertTrue(Files.size(dir.resolve("llama.fatbin")) > 1000);
    }

    private static Set<String> entries(String ptx) {
        Matcher m = Pattern.compile("\\.visible \\.entry (\\w+)\\(").matcher(ptx);
        Set<String> names = new TreeSet<>();
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    private static String run(String... command) throws IOException, InterruptedException {
        var builder = new ProcessBuilder(prepend("bash", command)).redirectErrorStream(true);
        Process p = builder.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "build-kernels.sh did not finish");
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    private static String[] prepend(String first, String[] rest) {
        String[] all = new String[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }
}
