package io.gpud.inference.cuda;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import io.gpud.inference.LlamaModel;
import io.gpud.model.GgmlType;
import java.lang.foreign.MemorySegment;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;

/**
 * Copies weights to the device through two pinned staging buffers, so the host fills one
 * while the DMA engine drains the other: a tensor arrives as any number of chunks
 * ({@link TensorUpload#write}), in order, of any size, which is what a loader that hands
 * over each chunk once it has verified it needs; a mapped file is simply one chunk. Q8_0
 * blocks are split into quants and scales on the way ({@link Q8Packing}); a block cut by a
 * chunk boundary waits for the next chunk. Runs on the context thread.
 */
final class WeightUploader implements AutoCloseable {
    private final CUstream stream;
    private final long stagingBytes;
    private final Pointer[] pinned = new Pointer[2];
    private final MemorySegment[] staging = new MemorySegment[2];
    private final CUevent[] drained = new CUevent[2];
    private final boolean[] inFlight = new boolean[2];
    private int next;
    private long uploadedBytes;

    WeightUploader(CUstream stream, long stagingBytes) {
        if (stagingBytes < Q8Packing.BLOCK_BYTES * 64L) {
            throw new IllegalArgumentException("staging buffers of " + stagingBytes + " bytes are too small");
        }
        this.stream = stream;
        this.stagingBytes = stagingBytes;
        for (int i = 0; i < 2; i++) {
            pinned[i] = new Pointer();
            cuMemAllocHost(pinned[i], stagingBytes);
            staging[i] = MemorySegment.ofBuffer(pinned[i].getByteBuffer(0, stagingBytes));
            drained[i] = new CUevent();
            cuEventCreate(drained[i], CUevent_flags.CU_EVENT_DISABLE_TIMING);
        }
    }

    /** Allocates {@code tensor} on the device and copies it there as one chunk. */
    DeviceTensor upload(String name, LlamaModel.Tensor tensor) {
        TensorUpload upload = begin(name, tensor.type(), tensor.rows(), tensor.cols());
        upload.write(tensor.bytes());
        return upload.finish();
    }

    /** Allocates a {@code rows × cols} matrix of {@code type} whose bytes will follow in chunks. */
    TensorUpload begin(String name, GgmlType type, int rows, int cols) {
        long elements = (long) rows * cols;
        long bytes = DeviceTensor.deviceBytes(type, elements);
        var data = new CUdeviceptr();
        cuMemAlloc(data, bytes);
        CUdeviceptr scales = type == GgmlType.Q8_0 ? data.withByteOffset(Q8Packing.scalesOffset(elements)) : null;
        return new TensorUpload(name, new DeviceTensor(type, data, scales, rows, cols, bytes), elements);
    }

    /** Bytes copied to the device so far. */
    long uploadedBytes() {
        return uploadedBytes;
    }

    /** Waits for every copy to land. */
    void drain() {
        cuStreamSynchronize(stream);
        inFlight[0] = false;
        inFlight[1] = false;
    }

    /** The next staging buffer, once the copy that last read it has finished. */
    private int acquire() {
        int i = next;
        next = 1 - next;
        if (inFlight[i]) {
            cuEventSynchronize(drained[i]);
        }
        return i;
    }

    private void release(int i) {
        cuEventRecord(drained[i], stream);
        inFlight[i] = true;
    }

    /** One tensor on its way to the device. */
    final class TensorUpload {
        private final String name;
        private final DeviceTensor target;
        private final long expectedSourceBytes;
        private final byte[] partialBlock = new byte[Q8Packing.BLOCK_BYTES];
        private int partialBytes;
        private long receivedBytes;
        private long blocksDone;

        private TensorUpload(String name, DeviceTensor target, long elements) {
            this.name = name;
            this.target = target;
            this.expectedSourceBytes = target.type() == GgmlType.Q8_0
                    ? elements / Q8Packing.BLOCK * Q8Packing.BLOCK_BYTES : target.bytes();
        }

        /** The next bytes of the tensor as stored (GGUF layout). */
        void write(MemorySegment chunk) {
            long size = chunk.byteSize();
            if (receivedBytes + size > expectedSourceBytes) {
                throw new CudaBackendException("tensor " + name + ": " + (receivedBytes + size)
                        + " bytes received, it has " + expectedSourceBytes);
            }
            receivedBytes += size;
            if (target.type() == GgmlType.Q8_0) {
                writeBlocks(chunk);
            } else {
                writePlain(chunk);
            }
        }

        private void writePlain(MemorySegment chunk) {
            long done = receivedBytes - chunk.byteSize();
            for (long at = 0; at < chunk.byteSize(); ) {
                long n = Math.min(stagingBytes, chunk.byteSize() - at);
                int i = acquire();
                MemorySegment.copy(chunk, at, staging[i], 0, n);
                cuMemcpyHtoDAsync(target.data().withByteOffset(done + at), pinned[i], n, stream);
                release(i);
                at += n;
                uploadedBytes += n;
            }
        }

        private void writeBlocks(MemorySegment chunk) {
            long at = 0;
            if (partialBytes > 0) {
                int n = (int) Math.min(Q8Packing.BLOCK_BYTES - partialBytes, chunk.byteSize());
                MemorySegment.copy(chunk, 0, MemorySegment.ofArray(partialBlock), partialBytes, n);
                partialBytes += n;
                at = n;
                if (partialBytes < Q8Packing.BLOCK_BYTES) {
                    return;
                }
                copyBlocks(MemorySegment.ofArray(partialBlock), 0, 1);
                partialBytes = 0;
            }
            long whole = (chunk.byteSize() - at) / Q8Packing.BLOCK_BYTES;
            long perStaging = stagingBytes / Q8Packing.BLOCK_BYTES;
            for (long b = 0; b < whole; ) {
                long n = Math.min(perStaging, whole - b);
                copyBlocks(chunk, at + b * Q8Packing.BLOCK_BYTES, n);
                b += n;
            }
            at += whole * Q8Packing.BLOCK_BYTES;
            int rest = (int) (chunk.byteSize() - at);
            MemorySegment.copy(chunk, at, MemorySegment.ofArray(partialBlock), 0, rest);
            partialBytes = rest;
        }

        private void copyBlocks(MemorySegment source, long offset, long blocks) {
            int i = acquire();
            long quantBytes = blocks * Q8Packing.BLOCK;
            long scaleBytes = blocks * Short.BYTES;
            Q8Packing.split(source, offset, blocks, staging[i].asSlice(0, quantBytes),
                    staging[i].asSlice(quantBytes, scaleBytes));
            cuMemcpyHtoDAsync(target.data().withByteOffset(blocksDone * Q8Packing.BLOCK), pinned[i], quantBytes, stream);
            cuMemcpyHtoDAsync(target.scales().withByteOffset(blocksDone * Short.BYTES), pinned[i].withByteOffset(quantBytes),
                    scaleBytes, stream);
            release(i);
            blocksDone += blocks;
            uploadedBytes += quantBytes + scaleBytes;
        }

        /** The tensor on the device, once every byte has arrived (copies may still be landing). */
        DeviceTensor finish() {
            if (receivedBytes != expectedSourceBytes || partialBytes != 0) {
                throw new CudaBackendException("tensor " + name + ": " + receivedBytes + " bytes received, expected "
                        + expectedSourceBytes);
            }
            return target;
        }
    }

    @Override
    public void close() {
        drain();
        for (int i = 0; i < 2; i++) {
            if (pinned[i] != null) {
                cuMemFreeHost(pinned[i]);
                cuEventDestroy(drained[i]);
            }
        }
    }
}
