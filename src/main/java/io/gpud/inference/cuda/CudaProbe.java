package io.gpud.inference.cuda;

import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuInit;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.charset.StandardCharsets;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.JCudaDriver;

/**
 * Finds out whether the CUDA backend can run here, without failing: the platform the JCuda
 * natives exist for, the driver library, the driver version, a device of compute
 * capability 8.0 or later. The driver library is looked up first, so a host without one
 * gets a plain reason instead of a linkage error from JCuda.
 */
final class CudaProbe {
    static final String DRIVER_LIBRARY = "libcuda.so.1";
    /** CUDA 12.0: the first driver that JITs PTX ISA 8.0 (r525). */
    static final int MIN_DRIVER_VERSION = 12000;
    static final int MIN_COMPUTE_MAJOR = 8;

    private CudaProbe() {
    }

    /** Probes device 0 through {@link #DRIVER_LIBRARY}. */
    static CudaAvailability probe() {
        return probe(DRIVER_LIBRARY, System.getProperty("os.name"), System.getProperty("os.arch"));
    }

    /** Probes device 0 through {@code driverLibrary}, on a host that says it is {@code os}/{@code arch}. */
    static CudaAvailability probe(String driverLibrary, String os, String arch) {
        if (!os.toLowerCase(java.util.Locale.ROOT).startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            return new CudaAvailability.Unusable("the CUDA backend runs on linux-x86_64, this is " + os + "/" + arch);
        }
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup.libraryLookup(driverLibrary, arena);
        } catch (IllegalArgumentException | IllegalCallerException e) {
            return new CudaAvailability.Unusable("no NVIDIA driver: " + driverLibrary + " cannot be loaded ("
                    + e.getMessage() + ")");
        }
        try {
            JCudaDriver.setExceptionsEnabled(true);
            cuInit(0);
            int[] version = new int[1];
            cuDriverGetVersion(version);
            if (version[0] < MIN_DRIVER_VERSION) {
                return new CudaAvailability.Unusable("the NVIDIA driver supports CUDA " + version[0] / 1000 + "."
                        + version[0] % 1000 / 10 + ", the kernels need 12.0 or later (driver r525+)");
            }
            int[] count = new int[1];
            cuDeviceGetCount(count);
            if (count[0] == 0) {
                return new CudaAvailability.Unusable("the NVIDIA driver sees no CUDA device");
            }
            var device = new CUdevice();
            cuDeviceGet(device, 0);
            int[] major = new int[1];
            int[] minor = new int[1];
            cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
            cuDeviceGetAttribute(minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
            byte[] name = new byte[256];
            cuDeviceGetName(name, name.length, device);
            long[] memory = new long[1];
            cuDeviceTotalMem(memory, device);
            String deviceName = cString(name);
            if (major[0] < MIN_COMPUTE_MAJOR) {
                return new CudaAvailability.Unusable("CUDA device 0 (" + deviceName + ") has compute capability "
                        + major[0] + "." + minor[0] + ", the kernels need 8.0 or later");
            }
            return new CudaAvailability.Usable(0, deviceName, major[0], minor[0], memory[0], version[0]);
        } catch (jcuda.CudaException e) {
            return new CudaAvailability.Unusable("the CUDA driver failed to start: " + e.getMessage());
        } catch (LinkageError e) {
            return new CudaAvailability.Unusable("the JCuda driver binding cannot load: " + e);
        }
    }

    private static String cString(byte[] bytes) {
        int end = 0;
        while (end < bytes.length && bytes[end] != 0) {
            end++;
        }
        return new String(bytes, 0, end, StandardCharsets.UTF_8);
    }
}
