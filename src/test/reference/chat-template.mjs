// What @huggingface/transformers' apply_chat_template passes a chat template besides the
// conversation (tokenization_utils.js, 4.x): each special token the tokenizer config names
// with a non-empty value (bos_token, eos_token, unk_token, sep_token, pad_token, cls_token,
// mask_token; AddedToken objects give their content). Shared by render-templates.mjs and
// chat-prompt.mjs.

const SPECIAL_TOKENS = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

function tokenText(value) {
  if (value && typeof value === "object") {
    if (value.__type === "AddedToken") {
      return value.content;
    }
    throw new Error(`unknown token ${JSON.stringify(value)}`);
  }
  return value || null;
}

/** The special-token variables a template gets from tokenizer_config.json. */
export function specialTokens(config) {
  const specials = {};
  for (const key of SPECIAL_TOKENS) {
    const text = tokenText(config[key]);
    if (text) {
      specials[key] = text;
    }
  }
  return specials;
}
