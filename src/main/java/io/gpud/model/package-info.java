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
 */
package io.gpud.model;
