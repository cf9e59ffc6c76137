// Tool calling through the official clients, against a `hearth serve` whose template takes tools
// in the Hermes format (run.sh). The tiny model never writes a call by itself: tools and tool
// results reach the template (the prompt grows with them), bad tool requests are refused with 400
// and a message, and a request with tools still answers and streams as text. With tool_choice
// "required" or a named function the grammar makes even this model call: the calls' arguments
// validate against the parameters schema (ajv), and streamed delta.tool_calls reassemble into
// the same calls. Parsing calls out of free replies is covered by the unit tests too
// (tests/unit/serve_reply_test.cpp, chat_tool_calls_test.cpp).
// Usage: node tools.mjs BASE_URL MODEL_NAME
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { Ollama } from 'ollama';
import Ajv from 'ajv';

const [base, modelName] = process.argv.slice(2);
const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'none', maxRetries: 0 });
const ollama = new Ollama({ host: base });
let checks = 0;

async function check(name, fn) {
  try {
    await fn();
    checks++;
    console.log(`ok - ${name}`);
  } catch (e) {
    console.error(`not ok - ${name}\n${e.stack || e}`);
    process.exit(1);
  }
}

const weather = {
  type: 'function',
  function: {
    name: 'get_weather', description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const question = { role: 'user', content: 'Weather in Oslo?' };
const callMessage = (city) => ({
  role: 'assistant', content: null,
  tool_calls: [{ id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: JSON.stringify({ city }) } }],
});
const result = { role: 'tool', tool_call_id: 'call_abc', content: '{"temp": 4}' };
const opts = { model: modelName, max_tokens: 4, temperature: 0 };

async function promptTokens(body) {
  const r = await openai.chat.completions.create({ ...opts, ...body });
  return r.usage.prompt_tokens;
}

await check('openai: tools reach the template', async () => {
  const plain = await promptTokens({ messages: [question] });
  const withTools = await promptTokens({ messages: [question], tools: [weather] });
  assert.ok(withTools > plain + 10, `prompt tokens ${withTools} with tools, ${plain} without`);
  // tool_choice none still shows the tools (calls are just not read).
  assert.equal(await promptTokens({ messages: [question], tools: [weather], tool_choice: 'none' }), withTools);
  const r = await openai.chat.completions.create({ ...opts, messages: [question], tools: [weather], tool_choice: 'auto' });
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
});

await check('openai: a tool round trip goes through the template', async () => {
  const short = await promptTokens({ messages: [question, callMessage('Oslo'), result], tools: [weather] });
  const long = await promptTokens({ messages: [question, callMessage('Oslo, Norway, Europe, Earth'), result], tools: [weather] });
  assert.ok(long > short, `the call's arguments did not reach the prompt (${long} vs ${short})`);
  const noResult = await promptTokens({ messages: [question, callMessage('Oslo')], tools: [weather] });
  assert.ok(short > noResult, `the tool result did not reach the prompt (${short} vs ${noResult})`);
});

await check('openai: streaming with tools answers as text', async () => {
  const stream = await openai.chat.completions.create({ ...opts, messages: [question], tools: [weather], stream: true });
  let finish = null, text = '';
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    assert.equal(chunk.choices[0]?.delta?.tool_calls, undefined);
  }
  const whole = await openai.chat.completions.create({ ...opts, messages: [question], tools: [weather] });
  assert.equal(text, whole.choices[0].message.content);
  assert.equal(finish, whole.choices[0].finish_reason);
});

async function expect400(body, pattern) {
  await assert.rejects(openai.chat.completions.create({ ...opts, ...body }), (e) => {
    assert.equal(e.status, 400);
    assert.match(e.message, pattern);
    return true;
  });
}

await check('openai: bad tool requests get 400 saying what is wrong', async () => {
  await expect400({ messages: [question], tools: [weather], tool_choice: { type: 'function', function: { name: 'nope' } } }, /'nope'/);
  await expect400({ messages: [question], tools: [{ type: 'function', function: { description: 'x' } }] }, /name/);
  await expect400({ messages: [question], tools: [{ type: 'function', function: { name: 'f', parameters: 'x' } }] }, /parameters/);
  await expect400({ messages: [question, { role: 'tool', tool_call_id: 'call_zzz', content: '1' }] }, /call_zzz/);
  await expect400({ messages: [question, { role: 'assistant', tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] }, /arguments/);
});

await check('ollama: show lists the tools capability', async () => {
  const show = await ollama.show({ model: modelName });
  assert.ok(show.capabilities.includes('tools'), JSON.stringify(show.capabilities));
});

await check('ollama: tools, a call with arguments as an object, a tool result', async () => {
  const r = await ollama.chat({
    model: modelName, stream: false, tools: [weather], options: { num_predict: 4, temperature: 0 },
    messages: [question, { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Oslo' } } }] },
               { role: 'tool', content: '{"temp": 4}', tool_name: 'get_weather' }],
  });
  assert.equal(r.message.role, 'assistant');
  assert.ok(r.prompt_eval_count > 20, `prompt_eval_count ${r.prompt_eval_count}`);
  assert.equal(r.done, true);
});

// Bounded strings, so that a greedy tiny model ends its call well within max_tokens.
const forecast = {
  type: 'function',
  function: {
    name: 'get_forecast', description: 'Forecast for a city',
    parameters: {
      type: 'object', additionalProperties: false, required: ['city', 'days'],
      properties: { city: { type: 'string', maxLength: 12 }, days: { type: 'integer' }, unit: { enum: ['C', 'F'] } },
    },
  },
};
const clock = { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } };  // no arguments: {}
const ajv = new Ajv();
const validArgs = { get_forecast: ajv.compile(forecast.function.parameters), get_time: ajv.compile(clock.function.parameters) };
const forced = { ...opts, max_tokens: 300, messages: [question], tools: [forecast, clock], parallel_tool_calls: false };

function expectValidCalls(calls) {
  assert.ok(Array.isArray(calls) && calls.length > 0, `no calls: ${JSON.stringify(calls)}`);
  for (const c of calls) {
    assert.equal(c.type, 'function');
    assert.match(c.id, /^call_/);
    const validate = validArgs[c.function.name];
    assert.ok(validate, `unknown function ${c.function.name}`);
    const args = JSON.parse(c.function.arguments);
    assert.ok(validate(args), `${c.function.arguments}: ${JSON.stringify(validate.errors)}`);
  }
}

await check('openai: tool_choice "required" makes even a tiny model call, with valid arguments', async () => {
  for (const seed of [1, 2, 3]) {
    const r = await openai.chat.completions.create({ ...forced, tool_choice: 'required', temperature: 0.8, seed });
    assert.equal(r.choices[0].finish_reason, 'tool_calls', JSON.stringify(r.choices[0]));
    expectValidCalls(r.choices[0].message.tool_calls);
  }
});

await check('openai: a named tool_choice calls that function once', async () => {
  const r = await openai.chat.completions.create({ ...forced, tool_choice: { type: 'function', function: { name: 'get_forecast' } } });
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  const calls = r.choices[0].message.tool_calls;
  expectValidCalls(calls);
  assert.equal(calls.length, 1);
  assert.equal(calls[0].function.name, 'get_forecast');
});

await check('openai: streamed forced calls reassemble into the same calls', async () => {
  const body = { ...forced, tool_choice: 'required' };
  const whole = await openai.chat.completions.create(body);
  const stream = await openai.chat.completions.create({ ...body, stream: true });
  const calls = [];
  let finish = null;
  for await (const chunk of stream) {
    finish = chunk.choices[0]?.finish_reason ?? finish;
    for (const d of chunk.choices[0]?.delta?.tool_calls ?? []) {
      calls[d.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } };
      if (d.id) calls[d.index].id = d.id;
      calls[d.index].function.name += d.function?.name ?? '';
      calls[d.index].function.arguments += d.function?.arguments ?? '';
    }
  }
  assert.equal(finish, 'tool_calls');
  expectValidCalls(calls);
  const strip = (cs) => cs.map((c) => [c.function.name, JSON.parse(c.function.arguments)]);
  assert.deepEqual(strip(calls), strip(whole.choices[0].message.tool_calls));
});

await check('openai: parallel forced calls are each valid', async () => {
  // A tiny model may go on calling until max_tokens: then the calls written whole are returned.
  const r = await openai.chat.completions.create({ ...forced, parallel_tool_calls: true, tool_choice: 'required', temperature: 0.7, seed: 4 });
  assert.ok(['tool_calls', 'length'].includes(r.choices[0].finish_reason), JSON.stringify(r.choices[0]));
  expectValidCalls(r.choices[0].message.tool_calls);
});

await check('openai: a bad parameters schema with a forced call is a 400 naming it', async () => {
  const bad = { type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { x: { type: 'string', pattern: 'a+' } } } } };
  await expect400({ messages: [question], tools: [bad], tool_choice: 'required' }, /pattern/);
});

console.log(`tool checks: ${checks} passed`);
