package io.gpud.inference.cuda;

import io.gpud.inference.LlamaModel;

/**
 * The weights a {@link CudaForward} uploads: a loaded model's, or ones made up by a test or
 * benchmark without a file.
 */
interface WeightSource {
    LlamaModel.Dimensions dimensions();

    LlamaModel.Tensor tokenEmbedding();

    LlamaModel.Layer layer(int l);

    float[] rmsFinal();

    LlamaModel.Tensor classifier();

    static WeightSource of(LlamaModel model) {
        return new WeightSource() {
            @Override
            public LlamaModel.Dimensions dimensions() {
                return model.dimensions();
            }

            @Override
            public LlamaModel.Tensor tokenEmbedding() {
                return model.tokenEmbedding();
            }

            @Override
            public LlamaModel.Layer layer(int l) {
                return model.layer(l);
            }

            @Override
            public float[] rmsFinal() {
                return model.rmsFinal();
            }

            @Override
            public LlamaModel.Tensor classifier() {
                return model.classifier();
            }
        };
    }
}
