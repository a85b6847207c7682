package io.gpud.inference;

import io.gpud.config.EngineConfig;
import io.gpud.model.GgmlType;
import java.nio.file.Path;

/** Writes the demo model into a test's temporary directory and opens engines on it. */
final class DemoModelFixture {
    private DemoModelFixture() {
    }

    static Path write(Path dir, GgmlType type) {
        Path file = dir.resolve("demo-" + type + ".gguf");
        DemoModel.write(file, 42, type);
        return file;
    }

    static Engine engine(Path dir, int queueCapacity, int maxConcurrent) {
        return CpuBackend.load(write(dir, GgmlType.F32), null, "demo", EngineConfig.limits(queueCapacity, maxConcurrent, 64));
    }
}
