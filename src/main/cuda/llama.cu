// Kernels of the Llama forward pass for io.gpud.inference.cuda.CudaEngine.
//
// Conventions. Activations are float32, one row per token of the batch: x is (batch, n)
// row-major. Weight matrices are row-major (rows, cols) and multiply a column vector of
// cols floats. Q8_0 matrices are uploaded repacked (see Q8Packing.java): all quants of the
// matrix first, (rows × cols) int8 row-major, then one half-precision scale per block of
// 32 quants, (rows × cols / 32), so that quants can be read 16 bytes at a time.
//
// Decode is bound by memory bandwidth: every weight is read once per step. The matrix ×
// vector kernels therefore give one warp to one output row, read the row with 128-bit
// loads (8 halves, 4 floats or 16 int8 per lane per load), keep up to MAX_TILE batch rows
// in registers so the row is read from DRAM once for them (further tiles of the batch read
// it again from L1/L2), and finish with a warp shuffle reduction. Residual adds and the
// SwiGLU product are fused into the matrix kernels that produce their inputs.
//
// Kernels that depend on the step (token, position, cache slot) read them from device
// arrays rather than from launch parameters, so one captured CUDA graph serves every step.

#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <stdint.h>

#define WARP 32
#define ROWS_PER_BLOCK 4
#define MAX_TILE 8

__device__ __forceinline__ float warp_sum(float v) {
    for (int offset = WARP / 2; offset > 0; offset >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    }
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int offset = WARP / 2; offset > 0; offset >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    }
    return v;
}

// ---- Weight formats: each loads a group of elements of one row as floats. ----

// float32: 4 elements per 128-bit load.
struct F32Weights {
    static const int GROUP = 4;
    const float* w;
    __device__ __forceinline__ void load(long row, int cols, int col, float* out) const {
        float4 v = *reinterpret_cast<const float4*>(w + row * cols + col);
        out[0] = v.x; out[1] = v.y; out[2] = v.z; out[3] = v.w;
    }
    __device__ __forceinline__ float at(long row, int cols, int col) const { return w[row * cols + col]; }
};

// IEEE half: 8 elements per 128-bit load.
struct F16Weights {
    static const int GROUP = 8;
    const __half* w;
    __device__ __forceinline__ void load(long row, int cols, int col, float* out) const {
        uint4 v = *reinterpret_cast<const uint4*>(w + row * cols + col);
        const __half2* h = reinterpret_cast<const __half2*>(&v);
#pragma unroll
        for (int i = 0; i < 4; i++) {
            float2 f = __half22float2(h[i]);
            out[2 * i] = f.x; out[2 * i + 1] = f.y;
        }
    }
    __device__ __forceinline__ float at(long row, int cols, int col) const { return __half2float(w[row * cols + col]); }
};

// bfloat16: 8 elements per 128-bit load, widened by a shift.
struct BF16Weights {
    static const int GROUP = 8;
    const uint16_t* w;
    __device__ __forceinline__ void load(long row, int cols, int col, float* out) const {
        uint4 v = *reinterpret_cast<const uint4*>(w + row * cols + col);
        const uint32_t words[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int i = 0; i < 4; i++) {
            out[2 * i] = __uint_as_float(words[i] << 16);
            out[2 * i + 1] = __uint_as_float(words[i] & 0xffff0000u);
        }
    }
    __device__ __forceinline__ float at(long row, int cols, int col) const {
        return __uint_as_float(((uint32_t) w[row * cols + col]) << 16);
    }
};

// Q8_0 repacked: 16 quants per 128-bit load, all in one block of 32, times its scale.
struct Q8Weights {
    static const int GROUP = 16;
    const int8_t* quants;
    const __half* scales;
    __device__ __forceinline__ void load(long row, int cols, int col, float* out) const {
        long index = row * cols + col;
        int4 v = *reinterpret_cast<const int4*>(quants + index);
        float scale = __half2float(scales[index / 32]);
        const int8_t* q = reinterpret_cast<const int8_t*>(&v);
#pragma unroll
        for (int i = 0; i < 16; i++) {
            out[i] = scale * (float) q[i];
        }
    }
    __device__ __forceinline__ float at(long row, int cols, int col) const {
        long index = row * cols + col;
        return __half2float(scales[index / 32]) * (float) quants[index];
    }
};

// ---- Matrix × vectors ----

// acc[t] = row · x[tileStart + t] for t in [0, tile), partial per lane.
template <typename W>
__device__ __forceinline__ void row_dot_tile(const W& weights, long row, int cols, const float* x, int tileStart,
                                             int tile, int lane, float* acc) {
#pragma unroll
    for (int t = 0; t < MAX_TILE; t++) {
        acc[t] = 0.0f;
    }
    const int step = WARP * W::GROUP;
    int col = lane * W::GROUP;
    // rows start 16-byte aligned only when cols is a multiple of the group; else all scalar
    int vectorEnd = cols % W::GROUP == 0 ? cols - cols % step : 0;
    // unrolled so that several 128-bit loads per lane are in flight at once
#pragma unroll 4
    for (; col < vectorEnd; col += step) {
        float w[W::GROUP];
        weights.load(row, cols, col, w);
#pragma unroll
        for (int t = 0; t < MAX_TILE; t++) {
            if (t < tile) {
                const float4* xv = reinterpret_cast<const float4*>(x + (long) (tileStart + t) * cols + col);
                float sum = acc[t];
#pragma unroll
                for (int g = 0; g < W::GROUP / 4; g++) {
                    float4 xs = xv[g];
                    sum = fmaf(w[4 * g], xs.x, sum);
                    sum = fmaf(w[4 * g + 1], xs.y, sum);
                    sum = fmaf(w[4 * g + 2], xs.z, sum);
                    sum = fmaf(w[4 * g + 3], xs.w, sum);
                }
                acc[t] = sum;
            }
        }
    }
    // the tail shorter than one warp-wide step: scalar, lane-strided
    for (int c = vectorEnd + lane; c < cols; c += WARP) {
        float w = weights.at(row, cols, c);
#pragma unroll
        for (int t = 0; t < MAX_TILE; t++) {
            if (t < tile) {
                acc[t] = fmaf(w, x[(long) (tileStart + t) * cols + c], acc[t]);
            }
        }
    }
}

// y[b][row] = (accumulate ? y[b][row] : 0) + W[row] · x[b] for b in [0, batch).
template <typename W>
__device__ __forceinline__ void matvec(const W& weights, const float* x, float* y, int rows, int cols, int batch,
                                       int accumulate) {
    int lane = threadIdx.x % WARP;
    long row = (long) blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / WARP;
    if (row >= rows) {
        return;
    }
    for (int tileStart = 0; tileStart < batch; tileStart += MAX_TILE) {
        int tile = min(MAX_TILE, batch - tileStart);
        float acc[MAX_TILE];
        row_dot_tile(weights, row, cols, x, tileStart, tile, lane, acc);
#pragma unroll
        for (int t = 0; t < MAX_TILE; t++) {
            if (t < tile) {
                float sum = warp_sum(acc[t]);
                if (lane == 0) {
                    float* out = y + (long) (tileStart + t) * rows + row;
                    *out = accumulate ? *out + sum : sum;
                }
            }
        }
    }
}

// h[b][row] = silu(W1[row] · x[b]) × (W3[row] · x[b]): the SwiGLU gate and up projections
// in one pass, without writing either product to memory.
template <typename W>
__device__ __forceinline__ void matvec_swiglu(const W& gate, const W& up, const float* x, float* h, int rows, int cols,
                                              int batch) {
    int lane = threadIdx.x % WARP;
    long row = (long) blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / WARP;
    if (row >= rows) {
        return;
    }
    for (int tileStart = 0; tileStart < batch; tileStart += MAX_TILE) {
        int tile = min(MAX_TILE, batch - tileStart);
        float g[MAX_TILE];
        float u[MAX_TILE];
        row_dot_tile(gate, row, cols, x, tileStart, tile, lane, g);
        row_dot_tile(up, row, cols, x, tileStart, tile, lane, u);
#pragma unroll
        for (int t = 0; t < MAX_TILE; t++) {
            if (t < tile) {
                float a = warp_sum(g[t]);
                float b = warp_sum(u[t]);
                if (lane == 0) {
                    float silu = a / (1.0f + expf(-a));
                    h[(long) (tileStart + t) * rows + row] = silu * b;
                }
            }
        }
    }
}

extern "C" __global__ void matvec_f32(const float* w, const float* x, float* y, int rows, int cols, int batch,
                                      int accumulate) {
    matvec(F32Weights{w}, x, y, rows, cols, batch, accumulate);
}

extern "C" __global__ void matvec_f16(const __half* w, const float* x, float* y, int rows, int cols, int batch,
                                      int accumulate) {
    matvec(F16Weights{w}, x, y, rows, cols, batch, accumulate);
}

extern "C" __global__ void matvec_bf16(const uint16_t* w, const float* x, float* y, int rows, int cols, int batch,
                                       int accumulate) {
    matvec(BF16Weights{w}, x, y, rows, cols, batch, accumulate);
}

extern "C" __global__ void matvec_q8_0(const int8_t* quants, const __half* scales, const float* x, float* y, int rows,
                                       int cols, int batch, int accumulate) {
    matvec(Q8Weights{quants, scales}, x, y, rows, cols, batch, accumulate);
}

extern "C" __global__ void swiglu_f32(const float* w1, const float* w3, const float* x, float* h, int rows, int cols,
                                      int batch) {
    matvec_swiglu(F32Weights{w1}, F32Weights{w3}, x, h, rows, cols, batch);
}

extern "C" __global__ void swiglu_f16(const __half* w1, const __half* w3, const float* x, float* h, int rows, int cols,
                                      int batch) {
    matvec_swiglu(F16Weights{w1}, F16Weights{w3}, x, h, rows, cols, batch);
}

extern "C" __global__ void swiglu_bf16(const uint16_t* w1, const uint16_t* w3, const float* x, float* h, int rows,
                                       int cols, int batch) {
    matvec_swiglu(BF16Weights{w1}, BF16Weights{w3}, x, h, rows, cols, batch);
}

extern "C" __global__ void swiglu_q8_0(const int8_t* q1, const __half* s1, const int8_t* q3, const __half* s3,
                                       const float* x, float* h, int rows, int cols, int batch) {
    matvec_swiglu(Q8Weights{q1, s1}, Q8Weights{q3, s3}, x, h, rows, cols, batch);
}

// ---- Embedding: x[b] = row tokens[b] of the (vocab, dim) table. grid (batch), block 256. ----

template <typename W>
__device__ __forceinline__ void embed(const W& table, const int* tokens, float* x, int dim) {
    long token = tokens[blockIdx.x];
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        x[(long) blockIdx.x * dim + i] = table.at(token, dim, i);
    }
}

extern "C" __global__ void embed_f32(const float* table, const int* tokens, float* x, int dim) {
    embed(F32Weights{table}, tokens, x, dim);
}

extern "C" __global__ void embed_f16(const __half* table, const int* tokens, float* x, int dim) {
    embed(F16Weights{table}, tokens, x, dim);
}

extern "C" __global__ void embed_bf16(const uint16_t* table, const int* tokens, float* x, int dim) {
    embed(BF16Weights{table}, tokens, x, dim);
}

extern "C" __global__ void embed_q8_0(const int8_t* quants, const __half* scales, const int* tokens, float* x,
                                      int dim) {
    embed(Q8Weights{quants, scales}, tokens, x, dim);
}

// ---- RMSNorm: out[b] = weight ⊙ x[b] / sqrt(mean(x[b]²) + eps). grid (batch), block 256. ----

extern "C" __global__ void rmsnorm(const float* x, const float* weight, float* out, int dim, float eps) {
    __shared__ float partial[256 / WARP];
    const float* row = x + (long) blockIdx.x * dim;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        ss = fmaf(row[i], row[i], ss);
    }
    ss = warp_sum(ss);
    if (threadIdx.x % WARP == 0) {
        partial[threadIdx.x / WARP] = ss;
    }
    __syncthreads();
    if (threadIdx.x < WARP) {
        float v = threadIdx.x < blockDim.x / WARP ? partial[threadIdx.x] : 0.0f;
        v = warp_sum(v);
        if (threadIdx.x == 0) {
            partial[0] = v;
        }
    }
    __syncthreads();
    float scale = rsqrtf(partial[0] / dim + eps);
    float* dst = out + (long) blockIdx.x * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        dst[i] = weight[i] * (scale * row[i]);
    }
}

// ---- RoPE on queries and keys, then keys and values into the cache. ----
// q (batch, dim), k and v (batch, kvDim). Cache layout (slot, layer, position, kvDim).
// adjacent: pairs (2j, 2j+1), else (j, j + headSize/2). grid (batch), block 256.

extern "C" __global__ void rope_store_kv(float* q, const float* k, const float* v, float* keyCache, float* valueCache,
                                         const int* positions, const int* slots, int layer, int layers, int capacity,
                                         int dim, int kvDim, int headSize, float theta, int adjacent) {
    int b = blockIdx.x;
    int pos = positions[b];
    int half = headSize / 2;
    long cacheRow = (((long) slots[b] * layers + layer) * capacity + pos) * kvDim;
    for (int p = threadIdx.x; p < dim / 2; p += blockDim.x) {
        int head = p / half;
        int j = p % half;
        // as the CPU engine: the power and the trigonometry in double, rounded to float
        float frequency = 1.0f / (float) pow((double) theta, (double) (2 * j / (float) headSize));
        float angle = pos * frequency;
        float c = (float) cos((double) angle);
        float s = (float) sin((double) angle);
        int a = head * headSize + (adjacent ? 2 * j : j);
        int bIndex = adjacent ? a + 1 : a + half;
        float* qr = q + (long) b * dim;
        float q0 = qr[a];
        float q1 = qr[bIndex];
        qr[a] = q0 * c - q1 * s;
        qr[bIndex] = q0 * s + q1 * c;
        if (a < kvDim) {
            const float* kr = k + (long) b * kvDim;
            float k0 = kr[a];
            float k1 = kr[bIndex];
            keyCache[cacheRow + a] = k0 * c - k1 * s;
            keyCache[cacheRow + bIndex] = k0 * s + k1 * c;
            valueCache[cacheRow + a] = v[(long) b * kvDim + a];
            valueCache[cacheRow + bIndex] = v[(long) b * kvDim + bIndex];
        }
    }
}

// ---- Attention over the cache with online softmax. ----
// out[b, head] = Σ_t softmax_t(q·key_t / √headSize) value_t over t in [0, positions[b]].
// grid (heads, batch), block ATTENTION_WARPS warps; each warp walks every
// ATTENTION_WARPS-th position keeping a running max, sum and weighted value sum (lane i
// holds elements i, i+32, ... of the head), and the warps' states are merged at the end.
// Head size at most 256.

#define ATTENTION_WARPS 4
#define MAX_HEAD_PER_LANE 8

extern "C" __global__ void attention(const float* q, const float* keyCache, const float* valueCache, float* out,
                                     const int* positions, const int* slots, int layer, int layers, int capacity,
                                     int heads, int kvHeads, int headSize) {
    __shared__ float warpMax[ATTENTION_WARPS];
    __shared__ float warpSum[ATTENTION_WARPS];
    __shared__ float warpAcc[ATTENTION_WARPS][MAX_HEAD_PER_LANE * WARP];
    int head = blockIdx.x;
    int b = blockIdx.y;
    int warp = threadIdx.x / WARP;
    int lane = threadIdx.x % WARP;
    int dim = heads * headSize;
    int kvDim = kvHeads * headSize;
    int kvHead = head / (heads / kvHeads);
    int pos = positions[b];
    float scale = sqrtf((float) headSize);
    const float* qh = q + (long) b * dim + head * headSize;
    long layerBase = ((long) slots[b] * layers + layer) * capacity * kvDim + (long) kvHead * headSize;

    float qv[MAX_HEAD_PER_LANE];
    float acc[MAX_HEAD_PER_LANE];
#pragma unroll
    for (int e = 0; e < MAX_HEAD_PER_LANE; e++) {
        int i = lane + e * WARP;
        qv[e] = i < headSize ? qh[i] : 0.0f;
        acc[e] = 0.0f;
    }
    float runningMax = -INFINITY;
    float runningSum = 0.0f;
    for (int t = warp; t <= pos; t += ATTENTION_WARPS) {
        const float* key = keyCache + layerBase + (long) t * kvDim;
        float partial = 0.0f;
#pragma unroll
        for (int e = 0; e < MAX_HEAD_PER_LANE; e++) {
            int i = lane + e * WARP;
            if (i < headSize) {
                partial = fmaf(qv[e], key[i], partial);
            }
        }
        float score = warp_sum(partial) / scale;
        float newMax = fmaxf(runningMax, score);
        float correction = expf(runningMax - newMax);
        float weight = expf(score - newMax);
        runningSum = runningSum * correction + weight;
        const float* value = valueCache + layerBase + (long) t * kvDim;
#pragma unroll
        for (int e = 0; e < MAX_HEAD_PER_LANE; e++) {
            int i = lane + e * WARP;
            if (i < headSize) {
                acc[e] = acc[e] * correction + weight * value[i];
            }
        }
        runningMax = newMax;
    }
    if (lane == 0) {
        warpMax[warp] = runningMax;
        warpSum[warp] = runningSum;
    }
#pragma unroll
    for (int e = 0; e < MAX_HEAD_PER_LANE; e++) {
        warpAcc[warp][lane + e * WARP] = acc[e];
    }
    __syncthreads();
    if (warp == 0) {
        float globalMax = -INFINITY;
        for (int w = 0; w < ATTENTION_WARPS; w++) {
            globalMax = fmaxf(globalMax, warpMax[w]);
        }
        float total = 0.0f;
        float merged[MAX_HEAD_PER_LANE];
#pragma unroll
        for (int e = 0; e < MAX_HEAD_PER_LANE; e++) {
            merged[e] = 0.0f;
        }
        for (int w = 0; w < ATTENTION_WARPS; w++) {
            if (warpSum[w] > 0.0f) {
                float factor = expf(warpMax[w] - globalMax);
                total += warpSum[w] * factor;
#pragma unroll
                for (int e = 0; e < MAX_HEAD_PER_LANE; e++) {
                    merged[e] += warpAcc[w][lane + e * WARP] * factor;
                }
            }
        }
        float* dst = out + (long) b * dim + head * headSize;
#pragma unroll
        for (int e = 0; e < MAX_HEAD_PER_LANE; e++) {
            int i = lane + e * WARP;
            if (i < headSize) {
                dst[i] = merged[e] / total;
            }
        }
    }
}

// ---- Memory hygiene ----

// Zeroes n 16-byte words. grid-stride.
extern "C" __global__ void zero_words(uint4* p, unsigned long long n) {
    unsigned long long stride = (unsigned long long) gridDim.x * blockDim.x;
    for (unsigned long long i = (unsigned long long) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        p[i] = make_uint4(0u, 0u, 0u, 0u);
    }
}

// Adds to *count the number of non-zero 16-byte words among n. grid-stride.
extern "C" __global__ void count_nonzero_words(const uint4* p, unsigned long long n, unsigned long long* count) {
    unsigned long long stride = (unsigned long long) gridDim.x * blockDim.x;
    unsigned long long local = 0;
    for (unsigned long long i = (unsigned long long) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        uint4 v = p[i];
        local += (v.x | v.y | v.z | v.w) != 0u;
    }
    for (int offset = WARP / 2; offset > 0; offset >>= 1) {
        local += __shfl_xor_sync(0xffffffffu, local, offset);
    }
    if (threadIdx.x % WARP == 0 && local != 0) {
        atomicAdd(count, local);
    }
}
