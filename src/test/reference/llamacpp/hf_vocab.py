"""A Hugging Face tokenizer directory (tokenizer.json + tokenizer_config.json) as GGUF
tokenizer metadata, written the way llama.cpp's convert_hf_to_gguf.py writes it, through
llama.cpp's gguf-py (the caller passes the imported gguf module).

Two kinds of tokenizer.json model are understood:
- byte-level BPE (Llama 3, Qwen 2.5/3, Mistral Nemo): tokenizer model gpt2, the GGUF
  pre-tokenizer name the caller gives (llama-bpe, qwen2, tekken, ...), tokens, types, merges;
  ids past the tokenizer's up to the vocabulary size (Qwen's embedding has 151,936 rows for
  151,665 tokens) are UNUSED [PADn], as the converter pads them;
- sentencepiece-style BPE with byte fallback (Gemma, Llama 2, Mistral 7B): tokenizer model
  llama with scores and types as a tokenizer.model would give them. tokenizer.json has no
  scores, only merge ranks; the score of a piece is minus the rank of the first merge that
  makes it, so merging by highest score (llama.cpp's sentencepiece tokenizer) merges in the
  order of Hugging Face's list. Byte tokens <0xXX> are BYTE, <unk> UNKNOWN, added tokens
  CONTROL when special or spelled like a control token (is_control) and else USER_DEFINED;
  ids the files leave empty are UNUSED [PADn]. The dummy prefix space (add_space_prefix) is
  on when the normalizer prepends '▁'.

In both, the special token ids, add_bos_token and the chat template come from gguf-py's
SpecialVocab, as the converter does. Tokens with ids at or above the vocabulary size are left
out, as the converter leaves them (Gemma 3's <image_soft_token> is id 262144 of 262144).
"""
import json
import os
import sys

SPIECE_SPACE = "\u2581"


def load(directory):
    with open(os.path.join(directory, "tokenizer.json"), encoding="utf-8") as f:
        return json.load(f)


def vocab_size(directory):
    """The number of ids the vocabulary and added tokens fill, counting from 0."""
    tj = load(directory)
    ids = list(tj["model"]["vocab"].values()) + [a["id"] for a in tj.get("added_tokens", [])]
    return max(ids) + 1


def add_tokenizer(gguf, w, directory, vocab, pre="llama-bpe"):
    tj = load(directory)
    model = tj["model"]
    if model["type"] != "BPE":
        sys.exit(f"hf_vocab: {directory}: tokenizer model {model['type']} is not BPE")
    if model.get("byte_fallback"):
        add_sentencepiece(gguf, w, directory, tj, vocab)
    else:
        add_byte_level(gguf, w, directory, tj, vocab, pre)


def is_control(added):
    """An added token is a control token when special or spelled like one (the converter's
    does_token_look_special: <|...|>, <unused...>, <pad>, <mask>)."""
    text = added["content"]
    return (added.get("special") or text in ("<pad>", "<mask>") or (text.startswith("<|") and text.endswith("|>"))
            or (text.startswith("<unused") and text.endswith(">")))


def add_byte_level(gguf, w, directory, tj, vocab, pre):
    tokens = [f"[PAD{i}]" for i in range(vocab)]
    types = [gguf.TokenType.UNUSED] * vocab
    for text, i in tj["model"]["vocab"].items():
        tokens[i], types[i] = text, gguf.TokenType.NORMAL
    for added in tj.get("added_tokens", []):
        if added["id"] >= vocab:
            continue
        tokens[added["id"]] = added["content"]
        types[added["id"]] = gguf.TokenType.CONTROL if is_control(added) else gguf.TokenType.USER_DEFINED
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    gguf.SpecialVocab(directory, load_merges=True, n_vocab=vocab).add_to_gguf(w, quiet=True)


def add_sentencepiece(gguf, w, directory, tj, vocab):
    model = tj["model"]
    first_rank = {}
    for rank, merge in enumerate(model["merges"]):
        left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
        first_rank.setdefault(left + right, rank)
    tokens = [f"[PAD{i}]" for i in range(vocab)]
    scores = [-10000.0] * vocab
    types = [gguf.TokenType.UNUSED] * vocab
    for text, i in model["vocab"].items():
        if i >= vocab:
            continue
        tokens[i] = text
        if text == model.get("unk_token"):
            types[i], scores[i] = gguf.TokenType.UNKNOWN, 0.0
        elif len(text) == 6 and text.startswith("<0x") and text.endswith(">"):
            types[i], scores[i] = gguf.TokenType.BYTE, 0.0
        else:
            types[i], scores[i] = gguf.TokenType.NORMAL, -float(first_rank.get(text, len(model["merges"])))
    for added in tj.get("added_tokens", []):
        i, text = added["id"], added["content"]
        if i >= vocab:
            continue
        if is_control(added):
            types[i] = gguf.TokenType.CONTROL
        else:
            text = text.replace(SPIECE_SPACE, " ")
            types[i] = gguf.TokenType.USER_DEFINED
        tokens[i], scores[i] = text, -1000.0
    normalizers = tj.get("normalizer") or {}
    normalizers = normalizers.get("normalizers", [normalizers])
    prefix = any(n.get("type") == "Prepend" and n.get("prepend") == SPIECE_SPACE for n in normalizers)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_add_space_prefix(prefix)
    gguf.SpecialVocab(directory, load_merges=False, n_vocab=vocab).add_to_gguf(w, quiet=True)
