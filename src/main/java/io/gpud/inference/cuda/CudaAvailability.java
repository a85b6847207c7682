package io.gpud.inference.cuda;

/** Whether this host can run the CUDA backend: the device found, or why not. */
public sealed interface CudaAvailability {

    /**
     * A device the kernels run on.
     *
     * @param driverVersion as cuDriverGetVersion says: 1000 × major + 10 × minor
     */
    record Usable(int ordinal, String name, int computeMajor, int computeMinor, long memoryBytes, int driverVersion)
            implements CudaAvailability {
        @Override
        public String toString() {
            return "CUDA device " + ordinal + " " + name + " (sm_" + computeMajor + computeMinor + ", "
                    + memoryBytes / (1 << 20) + " MiB, driver " + driverVersion / 1000 + "." + driverVersion % 1000 / 10
                    + ")";
        }
    }

    /** No usable device; {@code reason} says what is missing, for the log. */
    record Unusable(String reason) implements CudaAvailability {
    }
}
