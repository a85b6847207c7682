/**
 * Model file formats: reading (and, for GGUF, writing) the bytes of model and tokenizer
 * files. No inference happens here.
 *
 * <p>{@link io.gpud.model.GgufFile} reads GGUF v3 files: metadata, tensor infos and the
 * tensor data, memory-mapped into a {@link java.lang.foreign.MemorySegment} so weights are
 * never copied to the Java heap. {@link io.gpud.model.GgufWriter} writes them (quantizing to
 * Q8_0 and Q4_0 as asked). {@link io.gpud.model.SafetensorsFile} maps safetensors files,
 * single or sharded.
 * {@link io.gpud.model.Llama2cCheckpoint} and {@link io.gpud.model.Llama2cTokenizerFile}
 * read the two files of the llama2.c format. Every reader checks lengths against the file
 * size before it allocates, so a malformed file costs bounded memory and fails with a
 * {@link io.gpud.model.ModelFormatException} that names the offending item and numbers.
 *
 * <p>The model store: {@link io.gpud.model.ModelStore} (layout, {@code current} pointer,
 * publish and verify) and {@link io.gpud.model.Manifest} (strictly parsed, bounded). The
 * {@link io.gpud.model.ChunkLoader} reads a published version with parallel readers,
 * checks every chunk and reports it to a {@link io.gpud.model.ChunkListener}; its header
 * explains the design. Outcomes are values ({@link io.gpud.model.LoadOutcome}); bytes come
 * through a {@link io.gpud.model.ByteSource}, which {@link io.gpud.model.ThrottledByteSource}
 * caps and tests replace to inject faults.
 */
package io.gpud.model;
