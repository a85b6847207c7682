// Drives a running gpud with the official client libraries, unchanged: openai, ollama,
// @langchain/openai and the AI SDK (ai + @ai-sdk/openai-compatible).
// Usage: node clients.mjs http://127.0.0.1:PORT MODEL
// Prints one line per check ("ok"/"FAIL", the client, the flow) and exits 1 if any fails.
//
// The demo model has random weights, so nothing here depends on what it says: a tool call is
// forced (tool_choice "required" or named, which the server holds to by constrained decoding),
// structured output must parse and validate against its schema, plain text is any string.
// Ollama has no tool_choice, so its tool checks send tools and a finished tool round's history.
import OpenAI from 'openai';
import { zodFunction, zodResponseFormat } from 'openai/helpers/zod';
import { Ollama } from 'ollama';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { HumanMessage, ToolMessage } from '@langchain/core/messages';
import { tool as langchainTool } from '@langchain/core/tools';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { embed, embedMany, generateObject, generateText, stepCountIs, streamText, tool as aiTool } from 'ai';
import { z } from 'zod';

const [base, model] = process.argv.slice(2);
if (!base || !model) {
  console.error('usage: node clients.mjs BASE_URL MODEL');
  process.exit(2);
}

let failures = 0;
async function check(client, flow, fn) {
  const started = Date.now();
  try {
    const detail = await fn();
    console.log(`ok   ${client} ${flow} (${Date.now() - started} ms)${detail ? ': ' + detail : ''}`);
  } catch (e) {
    failures++;
    const body = e?.error ?? e?.responseBody ?? e?.lastError?.responseBody;
    console.log(`FAIL ${client} ${flow}: ${e?.stack ?? e}${body ? '\n     response: ' + JSON.stringify(body) : ''}`);
  }
}
function expect(cond, message) {
  if (!cond) throw new Error(message);
}
function expectUnitVector(v, what) {
  expect(Array.isArray(v) && v.length > 0 && v.every(Number.isFinite), `${what}: not a vector of numbers`);
  const norm = Math.hypot(...v);
  expect(Math.abs(norm - 1) < 1e-3, `${what}: norm ${norm}, expected 1`);
}

// One schema and one tool shared by every client.
const Weather = z.object({
  city: z.string(),
  temperature: z.number(),
  conditions: z.enum(['sunny', 'cloudy', 'rainy']),
});
const WeatherArgs = z.object({ city: z.string() });
const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  },
};
const weatherResult = JSON.stringify({ temperature: 21, conditions: 'sunny' });
const ask = 'What is the weather in Paris?';
const TEXT = 16; // tokens for a free-text answer
const DOC = 120; // tokens for a constrained document or a tool call's arguments

// ---------------------------------------------------------------- openai
const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });

await check('openai', 'models.list', async () => {
  const ids = [];
  for await (const m of openai.models.list()) ids.push(m.id);
  expect(ids.includes(model), `model ${model} not in ${JSON.stringify(ids)}`);
  return ids.join(',');
});

await check('openai', 'models.retrieve', async () => {
  const m = await openai.models.retrieve(model);
  expect(m.id === model && m.object === 'model', JSON.stringify(m));
});

await check('openai', 'chat', async () => {
  const r = await openai.chat.completions.create({
    model, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello' }],
    max_tokens: 12, temperature: 0,
  });
  expect(r.choices.length === 1, 'one choice');
  expect(typeof r.choices[0].message.content === 'string', 'message content is a string');
  expect(r.choices[0].message.role === 'assistant', 'role assistant');
  expect(['stop', 'length'].includes(r.choices[0].finish_reason), `finish_reason ${r.choices[0].finish_reason}`);
  expect(r.usage.completion_tokens > 0 && r.usage.total_tokens === r.usage.prompt_tokens + r.usage.completion_tokens,
    `usage ${JSON.stringify(r.usage)}`);
  return JSON.stringify(r.usage);
});

await check('openai', 'chat n=2 seed logprobs', async () => {
  const r = await openai.chat.completions.create({
    model, messages: [{ role: 'user', content: 'Say hello' }], max_completion_tokens: 6, n: 2, seed: 7,
    logprobs: true, top_logprobs: 2,
  });
  expect(r.choices.length === 2 && r.choices[1].index === 1, `choices ${r.choices.length}`);
  const lp = r.choices[0].logprobs?.content;
  expect(Array.isArray(lp) && lp.length > 0 && lp[0].top_logprobs.length === 2, `logprobs ${JSON.stringify(r.choices[0].logprobs)}`);
});

await check('openai', 'chat stream', async () => {
  const stream = await openai.chat.completions.create({
    model, messages: [{ role: 'user', content: 'Count' }], max_tokens: 12, temperature: 0, stream: true,
    stream_options: { include_usage: true },
  });
  let text = '', chunks = 0, finish = null, usage = null;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta?.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  expect(chunks > 1, `only ${chunks} chunks`);
  expect(finish === 'stop' || finish === 'length', `finish_reason ${finish}`);
  expect(usage && usage.completion_tokens > 0, `usage ${JSON.stringify(usage)}`);
  return `${chunks} chunks, ${text.length} chars`;
});

await check('openai', 'completions', async () => {
  const r = await openai.completions.create({ model, prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
  expect(typeof r.choices[0].text === 'string', 'text');
  expect(r.usage.completion_tokens > 0, 'usage');
  return JSON.stringify(r.usage);
});

await check('openai', 'tools round trip (tool_choice required)', async () => {
  const messages = [{ role: 'user', content: ask }];
  const first = await openai.chat.completions.create({
    model, messages, tools: [weatherTool], tool_choice: 'required', max_tokens: DOC,
  });
  const choice = first.choices[0];
  expect(choice.finish_reason === 'tool_calls', `finish_reason ${choice.finish_reason}`);
  const call = choice.message.tool_calls?.[0];
  expect(call && call.type === 'function' && call.function.name === 'get_weather' && call.id,
    `tool_calls ${JSON.stringify(choice.message)}`);
  WeatherArgs.parse(JSON.parse(call.function.arguments));
  messages.push(choice.message, { role: 'tool', tool_call_id: call.id, content: weatherResult });
  const second = await openai.chat.completions.create({ model, messages, tools: [weatherTool], max_tokens: TEXT });
  expect(typeof second.choices[0].message.content === 'string', `answer ${JSON.stringify(second.choices[0].message)}`);
  return `arguments ${call.function.arguments}`;
});

await check('openai', 'tools stream (named tool_choice)', async () => {
  const stream = await openai.chat.completions.create({
    model, messages: [{ role: 'user', content: ask }], tools: [weatherTool],
    tool_choice: { type: 'function', function: { name: 'get_weather' } }, max_tokens: DOC, stream: true,
  });
  let name = '', args = '', id = null, finish = null;
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      for (const t of c.delta?.tool_calls ?? []) {
        expect(t.index === 0, `tool call index ${t.index}`);
        id ??= t.id;
        name += t.function?.name ?? '';
        args += t.function?.arguments ?? '';
      }
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  expect(id && name === 'get_weather', `streamed tool call id ${id} name ${name}`);
  expect(finish === 'tool_calls', `finish_reason ${finish}`);
  WeatherArgs.parse(JSON.parse(args));
  return `arguments ${args}`;
});

await check('openai', 'chat.completions.parse with zodFunction tool', async () => {
  const r = await openai.chat.completions.parse({
    model, messages: [{ role: 'user', content: ask }],
    tools: [zodFunction({ name: 'get_weather', parameters: WeatherArgs })], tool_choice: 'required', max_tokens: DOC,
  });
  const call = r.choices[0].message.tool_calls?.[0];
  expect(call?.function.parsed_arguments, `tool_calls ${JSON.stringify(r.choices[0].message)}`);
  return JSON.stringify(call.function.parsed_arguments);
});

await check('openai', 'structured output (parse, zodResponseFormat json_schema)', async () => {
  const r = await openai.chat.completions.parse({
    model, messages: [{ role: 'user', content: ask }], response_format: zodResponseFormat(Weather, 'weather'),
    max_tokens: DOC,
  });
  const parsed = r.choices[0].message.parsed;
  expect(parsed, `no parsed value: ${JSON.stringify(r.choices[0].message)}`);
  Weather.parse(parsed);
  return JSON.stringify(parsed);
});

await check('openai', 'structured output (json_object)', async () => {
  const r = await openai.chat.completions.create({
    model, messages: [{ role: 'user', content: 'Reply in JSON.' }], response_format: { type: 'json_object' },
    max_tokens: DOC,
  });
  const value = JSON.parse(r.choices[0].message.content);
  expect(value !== null && typeof value === 'object' && !Array.isArray(value), `not an object: ${r.choices[0].message.content}`);
});

await check('openai', 'embeddings (default base64)', async () => {
  const r = await openai.embeddings.create({ model, input: 'The sky is blue' });
  expect(r.data.length === 1 && r.data[0].index === 0, JSON.stringify(r.data.map((d) => d.index)));
  expectUnitVector(r.data[0].embedding, 'embedding');
  expect(r.usage.prompt_tokens > 0, `usage ${JSON.stringify(r.usage)}`);
  return `${r.data[0].embedding.length} dimensions`;
});

await check('openai', 'embeddings (float, array input)', async () => {
  const r = await openai.embeddings.create({ model, input: ['one', 'two', 'three'], encoding_format: 'float' });
  expect(r.data.length === 3 && r.data.every((d, i) => d.index === i), JSON.stringify(r.data.map((d) => d.index)));
  r.data.forEach((d) => expectUnitVector(d.embedding, `embedding ${d.index}`));
});

await check('openai', 'responses', async () => {
  const r = await openai.responses.create({ model, input: 'Say hello', max_output_tokens: TEXT });
  expect(r.status === 'completed' || r.status === 'incomplete', `status ${r.status}`);
  expect(typeof r.output_text === 'string', `output ${JSON.stringify(r.output)}`);
  return JSON.stringify(r.usage);
});

await check('openai', 'responses stream', async () => {
  const stream = await openai.responses.create({ model, input: 'Say hello', max_output_tokens: TEXT, stream: true });
  const types = new Set();
  let text = '';
  for await (const event of stream) {
    types.add(event.type);
    if (event.type === 'response.output_text.delta') text += event.delta;
  }
  // A reply cut off by max_output_tokens ends in response.incomplete rather than response.completed.
  expect(types.has('response.created') && (types.has('response.completed') || types.has('response.incomplete')),
    `events ${[...types]}`);
  return `${text.length} chars, events ${[...types].join(',')}`;
});

await check('openai', 'responses tools (tool_choice required)', async () => {
  const r = await openai.responses.create({
    model, input: ask, max_output_tokens: DOC, tool_choice: 'required',
    tools: [{ type: 'function', name: 'get_weather', description: 'Current weather in a city',
      parameters: weatherTool.function.parameters, strict: true }],
  });
  const call = r.output.find((o) => o.type === 'function_call');
  expect(call && call.name === 'get_weather' && call.call_id, `output ${JSON.stringify(r.output)}`);
  WeatherArgs.parse(JSON.parse(call.arguments));
  return `arguments ${call.arguments}`;
});

await check('openai', 'error for an unknown model', async () => {
  try {
    await openai.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] });
  } catch (e) {
    expect(e instanceof OpenAI.NotFoundError, `expected NotFoundError, got ${e.constructor.name}`);
    return e.message;
  }
  throw new Error('no error');
});

// ---------------------------------------------------------------- ollama
const ollama = new Ollama({ host: base });
const ollamaTool = { type: 'function', function: weatherTool.function };
const sameModel = (name) => name === model || name === `${model}:latest`;

await check('ollama', 'version', async () => {
  const r = await ollama.version();
  expect(typeof r.version === 'string' && r.version.length > 0, JSON.stringify(r));
  return r.version;
});

await check('ollama', 'list (tags)', async () => {
  const r = await ollama.list();
  const m = r.models.find((m) => sameModel(m.name));
  expect(m, JSON.stringify(r.models));
  expect(m.model === m.name && m.name.includes(':'), `name ${m.name}, model ${m.model}`);
  expect(m.size > 0 && typeof m.digest === 'string' && m.details?.family, JSON.stringify(m));
  return r.models.map((m) => m.name).join(',');
});

await check('ollama', 'show', async () => {
  const r = await ollama.show({ model });
  expect(r.details?.family && typeof r.template === 'string', JSON.stringify(r.details));
  expect(Object.keys(r.model_info ?? {}).some((k) => k.endsWith('.context_length')), `model_info ${JSON.stringify(r.model_info)}`);
  expect(Array.isArray(r.capabilities) && r.capabilities.includes('completion'), `capabilities ${r.capabilities}`);
  return `capabilities ${r.capabilities}`;
});

await check('ollama', 'chat', async () => {
  const r = await ollama.chat({ model: `${model}:latest`, messages: [{ role: 'user', content: 'Hi' }], stream: false,
    keep_alive: '10m', options: { num_predict: 10, temperature: 0, num_ctx: 512 } });
  expect(r.done === true && r.message.role === 'assistant' && typeof r.message.content === 'string', JSON.stringify(r));
  expect(r.eval_count > 0 && r.prompt_eval_count > 0, `counts ${r.prompt_eval_count}/${r.eval_count}`);
  return `done_reason ${r.done_reason}`;
});

await check('ollama', 'chat stream', async () => {
  const stream = await ollama.chat({ model, messages: [{ role: 'user', content: 'Hi' }], stream: true,
    options: { num_predict: 10, temperature: 0 } });
  let parts = 0, last = null;
  for await (const part of stream) { parts++; last = part; }
  expect(parts > 1 && last.done === true, `parts ${parts}, last ${JSON.stringify(last)}`);
  expect(last.eval_count > 0, `eval_count ${last.eval_count}`);
  return `${parts} parts, eval_count ${last.eval_count}`;
});

await check('ollama', 'ps', async () => {
  const r = await ollama.ps();
  const m = r.models.find((m) => sameModel(m.name));
  expect(m, `model not loaded: ${JSON.stringify(r.models)}`);
  expect(!Number.isNaN(Date.parse(m.expires_at)) && typeof m.size_vram === 'number', JSON.stringify(m));
  return `expires_at ${m.expires_at}`;
});

await check('ollama', 'chat format (schema)', async () => {
  const r = await ollama.chat({ model, messages: [{ role: 'user', content: ask }], stream: false,
    format: z.toJSONSchema(Weather), options: { num_predict: DOC } });
  return JSON.stringify(Weather.parse(JSON.parse(r.message.content)));
});

// The prompt a chat renders, counted in tokens: tools and tool results must reach the model.
async function promptTokens(request) {
  const r = await ollama.chat({ model, stream: false, ...request, options: { num_predict: 1 } });
  return r.prompt_eval_count;
}

await check('ollama', 'chat tools offered', async () => {
  const messages = [{ role: 'user', content: ask }];
  const r = await ollama.chat({ model, messages, tools: [ollamaTool], stream: false, options: { num_predict: TEXT } });
  expect(r.done === true && r.message.role === 'assistant', JSON.stringify(r));
  const bare = await promptTokens({ messages });
  expect(r.prompt_eval_count > bare, `the tools did not reach the prompt: ${r.prompt_eval_count} prompt tokens, ${bare} without tools`);
  for (const call of r.message.tool_calls ?? []) {
    expect(call.function.name === 'get_weather', `tool call ${JSON.stringify(call)}`);
    WeatherArgs.parse(call.function.arguments);
  }
  return `${r.message.tool_calls?.length ?? 0} tool calls, ${r.message.content.length} chars`;
});

await check('ollama', 'chat tools round trip (tool result in history), stream', async () => {
  const stream = await ollama.chat({
    model, tools: [ollamaTool], stream: true, options: { num_predict: TEXT },
    messages: [
      { role: 'user', content: ask },
      { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
      { role: 'tool', tool_name: 'get_weather', content: weatherResult },
    ],
  });
  let text = '', last = null;
  for await (const part of stream) { text += part.message.content; last = part; }
  expect(last?.done === true, `last ${JSON.stringify(last)}`);
  const withoutResult = await promptTokens({ tools: [ollamaTool], messages: [{ role: 'user', content: ask }] });
  expect(last.prompt_eval_count > withoutResult,
    `the tool call and result did not reach the prompt: ${last.prompt_eval_count} prompt tokens, ${withoutResult} without them`);
  return `${text.length} chars`;
});

await check('ollama', 'generate', async () => {
  const r = await ollama.generate({ model, prompt: 'Why is the sky blue?', stream: false,
    options: { num_predict: 8, temperature: 0 } });
  expect(r.done === true && typeof r.response === 'string', JSON.stringify(r));
  return `eval_count ${r.eval_count}`;
});

await check('ollama', 'generate format json', async () => {
  const r = await ollama.generate({ model, prompt: 'A JSON object:', format: 'json', stream: false,
    options: { num_predict: DOC } });
  const value = JSON.parse(r.response);
  expect(value !== null && typeof value === 'object', `not an object: ${r.response}`);
});

await check('ollama', 'embed', async () => {
  const r = await ollama.embed({ model, input: ['The sky is blue', 'Grass is green'] });
  expect(r.embeddings.length === 2 && r.embeddings[0].length === r.embeddings[1].length, `${r.embeddings.length} embeddings`);
  r.embeddings.forEach((e, i) => expectUnitVector(e, `embedding ${i}`));
  return `${r.embeddings[0].length} dimensions`;
});

await check('ollama', 'embeddings (legacy)', async () => {
  const r = await ollama.embeddings({ model, prompt: 'The sky is blue' });
  expect(Array.isArray(r.embedding) && r.embedding.length > 0 && r.embedding.every(Number.isFinite), JSON.stringify(r).slice(0, 200));
});

// ---------------------------------------------------------------- LangChain
const chat = new ChatOpenAI({ model, apiKey: 'unused', configuration: { baseURL: `${base}/v1` }, maxRetries: 0,
  temperature: 0, maxTokens: TEXT });
const lcWeather = langchainTool(async ({ city }) => weatherResult, {
  name: 'get_weather', description: 'Current weather in a city', schema: WeatherArgs,
});

await check('langchain', 'invoke', async () => {
  const m = await chat.invoke('Say hello');
  expect(typeof m.content === 'string', JSON.stringify(m.content));
  expect(m.usage_metadata?.output_tokens > 0, `usage ${JSON.stringify(m.usage_metadata)}`);
  return JSON.stringify(m.usage_metadata);
});

await check('langchain', 'stream', async () => {
  let chunks = 0, all = null;
  for await (const c of await chat.stream('Count')) { chunks++; all = all ? all.concat(c) : c; }
  expect(chunks > 1 && typeof all.content === 'string', `${chunks} chunks`);
  expect(all.usage_metadata?.output_tokens > 0, `usage ${JSON.stringify(all.usage_metadata)}`);
  return `${chunks} chunks`;
});

await check('langchain', 'tools round trip (bindTools, tool_choice required)', async () => {
  const forced = new ChatOpenAI({ model, apiKey: 'unused', configuration: { baseURL: `${base}/v1` }, maxRetries: 0,
    maxTokens: DOC }).bindTools([lcWeather], { tool_choice: 'required' });
  const history = [new HumanMessage(ask)];
  const ai = await forced.invoke(history);
  const call = ai.tool_calls?.[0];
  expect(call?.name === 'get_weather' && call.id, `tool_calls ${JSON.stringify(ai.tool_calls)} ${JSON.stringify(ai.invalid_tool_calls)}`);
  WeatherArgs.parse(call.args);
  const result = await lcWeather.invoke(call);
  expect(result instanceof ToolMessage, `tool result ${result}`);
  history.push(ai, result);
  const answer = await chat.bindTools([lcWeather]).invoke(history);
  expect(typeof answer.content === 'string', `answer ${JSON.stringify(answer)}`);
  return `args ${JSON.stringify(call.args)}`;
});

await check('langchain', 'withStructuredOutput (zod, default jsonSchema)', async () => {
  const structured = new ChatOpenAI({ model, apiKey: 'unused', configuration: { baseURL: `${base}/v1` }, maxRetries: 0,
    maxTokens: DOC }).withStructuredOutput(Weather, { name: 'weather' });
  const value = await structured.invoke(ask);
  return JSON.stringify(Weather.parse(value));
});

await check('langchain', 'withStructuredOutput (functionCalling)', async () => {
  const structured = new ChatOpenAI({ model, apiKey: 'unused', configuration: { baseURL: `${base}/v1` }, maxRetries: 0,
    maxTokens: DOC }).withStructuredOutput(Weather, { name: 'weather', method: 'functionCalling' });
  const value = await structured.invoke(ask);
  return JSON.stringify(Weather.parse(value));
});

await check('langchain', 'OpenAIEmbeddings', async () => {
  const embeddings = new OpenAIEmbeddings({ model, apiKey: 'unused', configuration: { baseURL: `${base}/v1` }, maxRetries: 0 });
  const q = await embeddings.embedQuery('The sky is blue');
  expectUnitVector(q, 'embedQuery');
  const docs = await embeddings.embedDocuments(['one', 'two']);
  expect(docs.length === 2 && docs[1].length === q.length, `${docs.length} documents`);
  return `${q.length} dimensions`;
});

// ---------------------------------------------------------------- AI SDK
const provider = createOpenAICompatible({ name: 'gpud', baseURL: `${base}/v1`, apiKey: 'unused', includeUsage: true,
  supportsStructuredOutputs: true });
const aiModel = provider.chatModel(model);

await check('ai-sdk', 'generateText', async () => {
  const r = await generateText({ model: aiModel, prompt: 'Say hello', maxOutputTokens: TEXT, temperature: 0, maxRetries: 0 });
  expect(typeof r.text === 'string' && ['stop', 'length'].includes(r.finishReason), `finishReason ${r.finishReason}`);
  expect(r.usage.outputTokens > 0, `usage ${JSON.stringify(r.usage)}`);
  return JSON.stringify(r.usage);
});

await check('ai-sdk', 'streamText', async () => {
  const r = streamText({ model: aiModel, prompt: 'Count', maxOutputTokens: TEXT, temperature: 0, maxRetries: 0 });
  let parts = 0;
  for await (const _ of r.textStream) parts++;
  const usage = await r.usage;
  expect(parts > 0 && ['stop', 'length'].includes(await r.finishReason), `${parts} parts, finishReason ${await r.finishReason}`);
  expect(usage.outputTokens > 0, `usage ${JSON.stringify(usage)}`);
  return `${parts} parts`;
});

await check('ai-sdk', 'tools round trip (toolChoice required, then auto)', async () => {
  const r = await generateText({
    model: aiModel, prompt: ask, maxOutputTokens: DOC, maxRetries: 0, stopWhen: stepCountIs(2),
    tools: { get_weather: aiTool({ description: 'Current weather in a city', inputSchema: WeatherArgs,
      execute: async () => JSON.parse(weatherResult) }) },
    prepareStep: ({ stepNumber }) => ({ toolChoice: stepNumber === 0 ? 'required' : 'auto' }),
  });
  expect(r.steps.length === 2, `${r.steps.length} steps`);
  const [call] = r.steps[0].toolCalls;
  expect(call?.toolName === 'get_weather' && !call.invalid, `tool calls ${JSON.stringify(r.steps[0].toolCalls)}`);
  expect(r.steps[0].toolResults.length === 1, `tool results ${JSON.stringify(r.steps[0].toolResults)}`);
  expect(typeof r.steps[1].text === 'string', 'answer text');
  return `input ${JSON.stringify(call.input)}`;
});

await check('ai-sdk', 'generateObject', async () => {
  const r = await generateObject({ model: aiModel, schema: Weather, prompt: ask, maxOutputTokens: DOC, maxRetries: 0 });
  return JSON.stringify(Weather.parse(r.object));
});

await check('ai-sdk', 'embed / embedMany', async () => {
  const embeddingModel = provider.textEmbeddingModel(model);
  const one = await embed({ model: embeddingModel, value: 'The sky is blue', maxRetries: 0 });
  expectUnitVector(one.embedding, 'embed');
  const many = await embedMany({ model: embeddingModel, values: ['one', 'two', 'three'], maxRetries: 0 });
  expect(many.embeddings.length === 3, `${many.embeddings.length} embeddings`);
  many.embeddings.forEach((e, i) => expectUnitVector(e, `embedMany ${i}`));
  return `${one.embedding.length} dimensions`;
});

console.log(failures === 0 ? 'all client checks passed' : `${failures} client checks failed`);
process.exit(failures === 0 ? 0 : 1);
