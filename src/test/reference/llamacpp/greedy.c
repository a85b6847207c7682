// Greedy decoding through libllama from token ids, printing JSON: the logits of the first
// LOGIT_STEPS steps and the ids chosen. Built against a llama.cpp checkout by make-model-fixtures.py.
//   greedy MODEL.gguf STEPS LOGIT_STEPS ID...
// The KV cache is F32 (type_k = type_v = GGML_TYPE_F32), flash attention off, one thread,
// the prompt in one batch.
#include <stdio.h>
#include <stdlib.h>
#include "llama.h"

static void quiet(enum ggml_log_level level, const char *text, void *data) {
    (void) data;
    if (level == GGML_LOG_LEVEL_ERROR) {
        fputs(text, stderr);
    }
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: greedy MODEL.gguf STEPS LOGIT_STEPS ID...\n");
        return 2;
    }
    int steps = atoi(argv[2]);
    int logitSteps = atoi(argv[3]);
    int promptLength = argc - 4;
    llama_token *tokens = malloc(sizeof(llama_token) * (size_t) promptLength);
    for (int i = 0; i < promptLength; i++) {
        tokens[i] = atoi(argv[4 + i]);
    }
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (model == NULL) {
        fprintf(stderr, "greedy: cannot load %s\n", argv[1]);
        return 1;
    }
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t) (promptLength + steps + 1);
    cp.n_batch = cp.n_ctx;
    cp.n_ubatch = cp.n_ctx;
    cp.n_threads = 1;
    cp.n_threads_batch = 1;
    cp.type_k = GGML_TYPE_F32;
    cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (ctx == NULL) {
        fprintf(stderr, "greedy: cannot make a context\n");
        return 1;
    }
    int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    struct llama_batch batch = llama_batch_get_one(tokens, promptLength);
    llama_token *ids = malloc(sizeof(llama_token) * (size_t) (steps > 0 ? steps : 1));
    printf("{\"logits\":[");
    for (int s = 0; s < steps; s++) {
        if (llama_decode(ctx, batch) != 0) {
            fprintf(stderr, "greedy: decode failed at step %d\n", s);
            return 1;
        }
        const float *logits = llama_get_logits_ith(ctx, -1);
        llama_token next = 0;
        for (int v = 1; v < vocab; v++) {
            if (logits[v] > logits[next]) {
                next = v;
            }
        }
        ids[s] = next;
        if (s < logitSteps) {
            printf("%s[", s ? "," : "");
            for (int v = 0; v < vocab; v++) {
                printf("%s%.9g", v ? "," : "", logits[v]);
            }
            printf("]");
        }
        batch = llama_batch_get_one(&ids[s], 1);
    }
    printf("],\"ids\":[");
    for (int s = 0; s < steps; s++) {
        printf("%s%d", s ? "," : "", ids[s]);
    }
    printf("]}\n");
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
