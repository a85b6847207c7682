// Drives a running gpud with the official OpenAI and Ollama client libraries, unchanged.
// Usage: node clients.mjs http://127.0.0.1:PORT MODEL
// Prints one line per check and exits 1 if any check fails.
import OpenAI from 'openai';
import { Ollama } from 'ollama';

const [base, model] = process.argv.slice(2);
if (!base || !model) {
  console.error('usage: node clients.mjs BASE_URL MODEL');
  process.exit(2);
}

let failures = 0;
async function check(name, fn) {
  try {
    const detail = await fn();
    console.log(`ok   ${name}${detail ? ': ' + detail : ''}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}
function expect(cond, message) {
  if (!cond) throw new Error(message);
}

const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
const ollama = new Ollama({ host: base });

await check('openai models.list', async () => {
  const ids = [];
  for await (const m of openai.models.list()) ids.push(m.id);
  expect(ids.includes(model), `model ${model} not in ${JSON.stringify(ids)}`);
  return ids.join(',');
});

await check('openai chat.completions.create', async () => {
  const r = await openai.chat.completions.create({
    model, messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 12, temperature: 0,
  });
  expect(r.choices.length === 1, 'one choice');
  expect(typeof r.choices[0].message.content === 'string', 'message content is a string');
  expect(r.choices[0].message.role === 'assistant', 'role assistant');
  expect(['stop', 'length'].includes(r.choices[0].finish_reason), `finish_reason ${r.choices[0].finish_reason}`);
  expect(r.usage.completion_tokens > 0 && r.usage.total_tokens === r.usage.prompt_tokens + r.usage.completion_tokens,
    `usage ${JSON.stringify(r.usage)}`);
  return JSON.stringify(r.usage);
});

await check('openai chat.completions.create stream', async () => {
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

await check('openai completions.create', async () => {
  const r = await openai.completions.create({ model, prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
  expect(typeof r.choices[0].text === 'string', 'text');
  expect(r.usage.completion_tokens > 0, 'usage');
  return JSON.stringify(r.usage);
});

await check('openai error for an unknown model', async () => {
  try {
    await openai.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] });
  } catch (e) {
    expect(e instanceof OpenAI.NotFoundError, `expected NotFoundError, got ${e.constructor.name}`);
    return e.message;
  }
  throw new Error('no error');
});

await check('ollama list', async () => {
  const r = await ollama.list();
  expect(r.models.some((m) => m.name === model || m.model === model), JSON.stringify(r.models));
  return r.models.map((m) => m.name).join(',');
});

await check('ollama chat stream', async () => {
  const stream = await ollama.chat({ model, messages: [{ role: 'user', content: 'Hi' }], stream: true,
    options: { num_predict: 10, temperature: 0 } });
  let parts = 0, last = null;
  for await (const part of stream) { parts++; last = part; }
  expect(parts > 1 && last.done === true, `parts ${parts}, last ${JSON.stringify(last)}`);
  expect(last.eval_count > 0, `eval_count ${last.eval_count}`);
  return `${parts} parts, eval_count ${last.eval_count}`;
});

await check('ollama generate', async () => {
  const r = await ollama.generate({ model, prompt: 'Why is the sky blue?', stream: false,
    options: { num_predict: 8, temperature: 0 } });
  expect(r.done === true && typeof r.response === 'string', JSON.stringify(r));
  return `eval_count ${r.eval_count}`;
});

console.log(failures === 0 ? 'all client checks passed' : `${failures} client checks failed`);
process.exit(failures === 0 ? 0 : 1);
