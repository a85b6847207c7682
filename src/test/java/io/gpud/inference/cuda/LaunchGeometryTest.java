package io.gpud.inference.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class LaunchGeometryTest {

    @Test
    void decodeRowsRunInTheSmallestCapturedBatchThatHoldsThem() {
        for (int rows = 1; rows <= 32; rows++) {
            int batch = LaunchGeometry.graphBatch(rows);
            int expected = rows == 1 ? 1 : rows <= 8 ? 8 : 32;
            assertEquals(expected, batch, "rows " + rows);
            assertTrue(batch >= rows);
        }
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.graphBatch(0));
        var e = assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.graphBatch(33));
        assertTrue(e.getMessage().contains("33"), e.getMessage());
    }

    @Test
    void matrixKernelsCoverEveryRowWithOneWarpEach() {
        assertEquals(1, LaunchGeometry.matvecBlocks(1));
        assertEquals(1, LaunchGeometry.matvecBlocks(4));
        assertEquals(2, LaunchGeometry.matvecBlocks(5));
        assertEquals(1024, LaunchGeometry.matvecBlocks(4096));
        assertEquals(8000, LaunchGeometry.matvecBlocks(32000));
        assertEquals(2752, LaunchGeometry.matvecBlocks(11008));
        for (int rows = 1; rows < 300; rows++) {
            int blocks = LaunchGeometry.matvecBlocks(rows);
            assertTrue(blocks * LaunchGeometry.ROWS_PER_BLOCK >= rows);
            assertTrue((blocks - 1) * LaunchGeometry.ROWS_PER_BLOCK < rows);
        }
    }

    @Test
    void hygieneKernelsWorkInSixteenByteWordsWithBoundedGrids() {
        assertEquals(4, LaunchGeometry.words(64));
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.words(60));
        assertEquals(1, LaunchGeometry.wordBlocks(16, 1024));
        assertEquals(1, LaunchGeometry.wordBlocks(256 * 16, 1024));
        assertEquals(2, LaunchGeometry.wordBlocks(256 * 16 + 16, 1024));
        assertEquals(1024, LaunchGeometry.wordBlocks(1L << 40, 1024));
        assertEquals(256, LaunchGeometry.aligned(1));
        assertEquals(256, LaunchGeometry.aligned(256));
        assertEquals(512, LaunchGeometry.aligned(257));
    }

    /** The Java side's launch constants are the kernel source's. */
    @Test
    void constantsMatchTheKernelSource() throws IOException {
        String source = Files.readString(Path.of("src/main/cuda/llama.cu"));
        assertEquals(LaunchGeometry.WARP, define(source, "WARP"));
        assertEquals(LaunchGeometry.ROWS_PER_BLOCK, define(source, "ROWS_PER_BLOCK"));
        assertEquals(LaunchGeometry.MAX_TILE, define(source, "MAX_TILE"));
        assertEquals(LaunchGeometry.ATTENTION_THREADS, define(source, "ATTENTION_WARPS") * LaunchGeometry.WARP);
        assertEquals(LaunchGeometry.MAX_HEAD_SIZE, define(source, "MAX_HEAD_PER_LANE") * LaunchGeometry.WARP);
        assertTrue(source.contains("__shared__ float partial[256 / WARP]"),
                "rmsnorm's shared array is sized for blocks of " + LaunchGeometry.ROW_THREADS);
        assertEquals(256, LaunchGeometry.ROW_THREADS);
    }

    private static int define(String source, String name) {
        Matcher m = Pattern.compile("(?m)^#define " + name + " (\\d+)$").matcher(source);
        assertTrue(m.find(), "#define " + name + " is missing from llama.cu");
        return Integer.parseInt(m.group(1));
    }

    @Test
    void kvSlotsShareTheKvBudgetWithTheScratchSlot() {
        var llama7b = DecodeBenchmark.llama2_7b();
        // one position of one slot: 2 × 32 layers × 4096 × 4 bytes = 1 MiB; 8 slots + scratch
        assertEquals(112, CudaBackend.slotCapacity(llama7b, 1L << 30, 8));
        assertEquals(4096, CudaBackend.slotCapacity(llama7b, 1L << 40, 8), "at most the context");
        var e = assertThrows(CudaBackendException.class, () -> CudaBackend.slotCapacity(llama7b, 1L << 20, 8));
        assertTrue(e.getMessage().contains("kvCacheBytes"), e.getMessage());
        for (long budget = 9L << 20; budget < 200L << 20; budget += 7L << 20) {
            int capacity = CudaBackend.slotCapacity(llama7b, budget, 8);
            assertTrue(CudaForward.slotBytes(llama7b, capacity) % LaunchGeometry.WORD_BYTES == 0);
            assertTrue(9L * 2 * CudaForward.slotBytes(llama7b, capacity) <= budget, "within budget " + budget);
        }
    }
}
