// The conversations every chat template is rendered on, built the same way on every run.
// Each entry: { name, messages, tools?, kwargs?, needs: [...] } where `needs` names what a
// template must support to render it meaningfully (render-templates.mjs pairs them):
//   tools      - a `tools` list passed to the template
//   toolCalls  - assistant messages with tool_calls, and tool result messages
//   parts      - content given as a list of {type: "text", text} parts
//   system     - a system message (templates that refuse one are not given it)
//   anyOrder   - roles that do not alternate user/assistant after the system message
//   reasoning  - Qwen 3's reasoning_content / <think> handling and enable_thinking
// Mistral's template wants tool call ids of exactly 9 alphanumeric characters, so ids here
// have that shape.

const weather = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: {
      type: "object",
      properties: {
        city: { type: "string", description: "City name, e.g. \"Zürich\"" },
        unit: { type: "string", enum: ["celsius", "fahrenheit"] },
      },
      required: ["city"],
    },
  },
};

const search = {
  type: "function",
  function: {
    name: "search_docs",
    description: "Search the documentation; returns at most `limit` hits <b>ranked</b> & deduplicated",
    parameters: {
      type: "object",
      properties: {
        query: { type: "string" },
        limit: { type: "integer", minimum: 1, maximum: 50, default: 5 },
        filters: {
          type: "array",
          items: { type: "object", properties: { field: { type: "string" }, value: {} } },
        },
        exact: { type: "boolean" },
        boost: { type: "number", default: 1.5 },
      },
      required: ["query"],
    },
    return: { type: "array" },
  },
};

const noParams = {
  type: "function",
  function: { name: "now", description: "The current time (日本語, émoji 🕒)", parameters: { type: "object", properties: {} } },
};

const call = (id, name, args) => ({ id, type: "function", function: { name, arguments: args } });

const texts = {
  plain: "What is the capital of France?",
  unicode: "Grüße aus Zürich! 日本語のテキスト, العربية, עברית, emoji 👩‍💻🎉, combining e\u0301, math ∑∫√",
  whitespace: "  \n\tpadded with spaces, tabs and newlines \r\n  ",
  jinja: "Templates look like {{ this }} and {% if x %}that{% endif %}; tokens like <|im_end|> <|eot_id|> </s> [INST]",
  quotes: "She said \"hi\" and 'bye'; a path C:\\Users\\x and a \\n that is not a newline",
  multiline: "line one\nline two\n\nline four\n",
  long: Array.from({ length: 40 }, (_, i) => `sentence ${i} of a longer message.`).join(" "),
};

export function conversations() {
  const out = [];
  const add = (name, messages, needs = [], extra = {}) => out.push({ name, messages, needs, ...extra });

  // Plain chat.
  add("user", [{ role: "user", content: texts.plain }]);
  add("system-user", [{ role: "system", content: "You are a terse assistant." }, { role: "user", content: texts.plain }], ["system"]);
  add("multi-turn", [
    { role: "user", content: "Hi!" },
    { role: "assistant", content: "Hello. How can I help?" },
    { role: "user", content: "Tell me a joke." },
    { role: "assistant", content: "Why did the GPU cross the road? To render the other side." },
    { role: "user", content: "Another one." },
  ]);
  add("system-multi-turn", [
    { role: "system", content: "Answer in French." },
    { role: "user", content: "Good morning" },
    { role: "assistant", content: "Bonjour" },
    { role: "user", content: "Thank you" },
  ], ["system"]);
  add("ends-with-assistant", [
    { role: "user", content: "Count to three." },
    { role: "assistant", content: "One, two, three." },
  ]);
  for (const [key, text] of Object.entries(texts)) {
    add(`text-${key}`, [{ role: "user", content: text }]);
    add(`text-${key}-reply`, [
      { role: "system", content: text },
      { role: "user", content: text },
      { role: "assistant", content: text },
      { role: "user", content: "and again" },
    ], ["system"]);
  }
  add("empty-user", [{ role: "user", content: "" }]);
  add("empty-system", [{ role: "system", content: "" }, { role: "user", content: "hello" }], ["system"]);
  add("empty-assistant", [
    { role: "user", content: "Say nothing." },
    { role: "assistant", content: "" },
    { role: "user", content: "Thanks." },
  ]);
  add("system-only", [{ role: "system", content: "Only a system message." }], ["system", "anyOrder"]);
  add("two-users", [{ role: "user", content: "first" }, { role: "user", content: "second" }], ["anyOrder"]);
  add("assistant-first", [{ role: "assistant", content: "I speak first." }, { role: "user", content: "ok" }], ["anyOrder"]);
  add("system-in-middle", [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hi" },
    { role: "system", content: "Now be verbose." },
    { role: "user", content: "Hi again" },
  ], ["system", "anyOrder"]);

  // Content as a list of text parts, the OpenAI way.
  add("parts-user", [{ role: "user", content: [{ type: "text", text: "Part one. " }, { type: "text", text: " Part two." }] }], ["parts"]);
  add("parts-system", [
    { role: "system", content: [{ type: "text", text: "System as parts." }] },
    { role: "user", content: [{ type: "text", text: texts.unicode }] },
    { role: "assistant", content: [{ type: "text", text: "Reply as parts." }] },
    { role: "user", content: "plain string again" },
  ], ["parts", "system"]);

  // Tools offered, with and without calls.
  add("tools-offered", [{ role: "user", content: "What's the weather in Paris?" }], ["tools"], { tools: [weather] });
  add("tools-offered-system", [
    { role: "system", content: "You can call tools." },
    { role: "user", content: "Find the docs about tokenizers." },
  ], ["tools", "system"], { tools: [weather, search, noParams] });
  add("tools-call-and-result", [
    { role: "user", content: "What's the weather in Paris?" },
    { role: "assistant", content: "", tool_calls: [call("call00001", "get_weather", { city: "Paris", unit: "celsius" })] },
    { role: "tool", tool_call_id: "call00001", content: "{\"temperature\": 21, \"sky\": \"clear\"}" },
  ], ["tools", "toolCalls"], { tools: [weather] });
  add("tools-call-result-answer", [
    { role: "system", content: "Use the tools when needed." },
    { role: "user", content: "Weather in Zürich?" },
    { role: "assistant", content: "", tool_calls: [call("abcDEF123", "get_weather", { city: "Zürich" })] },
    { role: "tool", tool_call_id: "abcDEF123", content: "{\"temperature\": -3.5, \"sky\": \"snow ❄\"}" },
    { role: "assistant", content: "It is -3.5 °C and snowing in Zürich." },
    { role: "user", content: "Thanks!" },
  ], ["tools", "toolCalls", "system"], { tools: [weather, search] });
  add("tools-nested-arguments", [
    { role: "user", content: "Search." },
    {
      role: "assistant", content: "", tool_calls: [call("Zz9Yy8Xx7", "search_docs", {
        query: "chat \"templates\" <jinja> & more\n",
        limit: 10,
        boost: 0.25,
        exact: false,
        filters: [{ field: "lang", value: "日本語" }, { field: "year", value: 2024 }, { field: "none", value: null }],
        empty: {},
        list: [],
      })],
    },
    { role: "tool", tool_call_id: "Zz9Yy8Xx7", content: "no hits" },
  ], ["tools", "toolCalls"], { tools: [search] });
  add("tools-string-arguments", [
    { role: "user", content: "Weather in Oslo?" },
    { role: "assistant", content: "", tool_calls: [call("strArgs01", "get_weather", "{\"city\": \"Oslo\"}")] },
    { role: "tool", tool_call_id: "strArgs01", content: "cloudy" },
  ], ["tools", "toolCalls"], { tools: [weather] });
  add("tools-empty-arguments", [
    { role: "user", content: "What time is it?" },
    { role: "assistant", content: "", tool_calls: [call("timeCall1", "now", {})] },
    { role: "tool", tool_call_id: "timeCall1", content: "12:00" },
    { role: "assistant", content: "It is noon." },
    { role: "user", content: "And now?" },
  ], ["tools", "toolCalls"], { tools: [noParams] });
  add("tools-content-and-call", [
    { role: "user", content: "Weather in Rome and Madrid?" },
    {
      role: "assistant", content: "Let me check both.", tool_calls: [
        call("romeCall1", "get_weather", { city: "Rome" }),
        call("madCall02", "get_weather", { city: "Madrid", unit: "fahrenheit" }),
      ],
    },
    { role: "tool", tool_call_id: "romeCall1", content: "sunny" },
    { role: "tool", tool_call_id: "madCall02", content: "windy" },
  ], ["tools", "toolCalls", "parallelCalls"], { tools: [weather] });
  add("tools-parallel-then-answer", [
    { role: "system", content: "You are a weather bot." },
    { role: "user", content: "Compare Rome and Madrid." },
    {
      role: "assistant", content: "", tool_calls: [
        call("romeCall1", "get_weather", { city: "Rome" }),
        call("madCall02", "get_weather", { city: "Madrid" }),
      ],
    },
    { role: "tool", tool_call_id: "romeCall1", content: "{\"t\": 30}" },
    { role: "tool", tool_call_id: "madCall02", content: "{\"t\": 28}" },
    { role: "assistant", content: "Rome is warmer by 2 degrees." },
    { role: "user", content: "And Oslo?" },
  ], ["tools", "toolCalls", "parallelCalls", "system"], { tools: [weather] });
  add("tools-repeated-user", [
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Hello" },
    { role: "user", content: "Hi" },
  ], ["tools"], { tools: [weather] });
  add("tools-unicode-result", [
    { role: "user", content: texts.unicode },
    { role: "assistant", content: "", tool_calls: [call("uniCall01", "search_docs", { query: texts.unicode })] },
    { role: "tool", tool_call_id: "uniCall01", content: texts.unicode },
  ], ["tools", "toolCalls"], { tools: [search] });
  add("tools-in-system-prompt", [
    { role: "system", content: "System text." },
    { role: "user", content: "Weather?" },
  ], ["tools", "system"], { tools: [weather], kwargs: { tools_in_user_message: false, date_string: "01 Jan 2025" } });
  add("date-string", [{ role: "user", content: "What day is it?" }], [], { kwargs: { date_string: "29 Feb 2024" } });

  // Qwen 3's thinking.
  add("think-inline", [
    { role: "user", content: "2+2?" },
    { role: "assistant", content: "<think>\nSimple addition.\n</think>\n\n4" },
    { role: "user", content: "3+3?" },
  ], ["reasoning"]);
  add("think-last-assistant", [
    { role: "user", content: "2+2?" },
    { role: "assistant", content: "<think>\nSimple.\n</think>\n\n4" },
  ], ["reasoning"]);
  add("think-reasoning-content", [
    { role: "user", content: "Capital of Italy?" },
    { role: "assistant", content: "Rome.", reasoning_content: "\nThe user asks about Italy.\n" },
  ], ["reasoning"]);
  add("think-null-reasoning", [
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Hello", reasoning_content: null },
    { role: "user", content: "Bye" },
  ], ["reasoning"]);
  add("think-disabled", [{ role: "user", content: "Quick answer please." }], ["reasoning"], { kwargs: { enable_thinking: false } });
  add("think-enabled", [{ role: "user", content: "Think hard." }], ["reasoning"], { kwargs: { enable_thinking: true } });
  add("think-tool-steps", [
    { role: "user", content: "Weather in Paris?" },
    { role: "assistant", content: "<think>Need the tool.</think>", tool_calls: [call("parCall01", "get_weather", { city: "Paris" })] },
    { role: "tool", tool_call_id: "parCall01", content: "rain" },
    { role: "assistant", content: "<think>\nIt rains.\n</think>\n\nIt is raining.", reasoning_content: "It rains." },
  ], ["reasoning", "tools", "toolCalls"], { tools: [weather] });
  add("think-tool-response-as-user", [
    { role: "user", content: "Weather?" },
    { role: "assistant", content: "<think>tool</think>calling" },
    { role: "user", content: "<tool_response>\nsunny\n</tool_response>" },
    { role: "assistant", content: "<think>\nsun\n</think>\n\nSunny." },
  ], ["reasoning"], { kwargs: { enable_thinking: false } });

  // Templates that refuse a conversation must refuse it here too.
  add("refuse-two-tool-calls", [
    { role: "user", content: "both" },
    { role: "assistant", content: "", tool_calls: [call("aaaaaaaa1", "now", {}), call("bbbbbbbb2", "now", {})] },
  ], ["tools", "toolCalls", "refusesParallel"], { tools: [noParams] });
  add("refuse-short-tool-id", [
    { role: "user", content: "x" },
    { role: "assistant", content: "", tool_calls: [call("short", "now", {})] },
  ], ["tools", "toolCalls", "checksIds"], { tools: [noParams] });
  return out;
}
