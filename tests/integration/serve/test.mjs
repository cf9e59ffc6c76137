// Drives a running `hearth serve` with clients no one here wrote: the official `openai` and
// `ollama` npm packages. Usage: node test.mjs BASE_URL API_KEY MODEL_NAME
// Exits non-zero on the first failed check (node:assert), printing what differed.
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { Ollama } from 'ollama';

const [base, key, modelName] = process.argv.slice(2);
const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });
const ollama = new Ollama({ host: base, headers: { Authorization: `Bearer ${key}` } });
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

const hello = [{ role: 'system', content: 'You are brief.' }, { role: 'user', content: 'Once upon a time' }];

// ---- OpenAI -------------------------------------------------------------------------------------
await check('openai: models.list names the model', async () => {
  const ids = [];
  for await (const m of openai.models.list()) ids.push(m.id);
  assert.deepEqual(ids, [modelName]);
});

let greedyText = '';
await check('openai: chat non-streaming, usage exact', async () => {
  const r = await openai.chat.completions.create({ model: modelName, messages: hello, max_tokens: 12, temperature: 0 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, modelName);
  const c = r.choices[0];
  assert.equal(c.message.role, 'assistant');
  assert.equal(typeof c.message.content, 'string');
  assert.ok(['stop', 'length'].includes(c.finish_reason));
  assert.ok(r.usage.prompt_tokens > 0);
  assert.ok(r.usage.completion_tokens <= 12);
  if (c.finish_reason === 'length') assert.equal(r.usage.completion_tokens, 12);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  greedyText = c.message.content;
});

await check('openai: a repeated chat is served from the prompt cache with the same answer', async () => {
  const messages = [{ role: 'system', content: 'You are brief. '.repeat(12) }, { role: 'user', content: 'Once upon a time' }];
  const ask = () => openai.chat.completions.create({ model: modelName, messages, max_tokens: 8, temperature: 0 });
  const a = await ask();
  const b = await ask();
  assert.equal(b.choices[0].message.content, a.choices[0].message.content);
  assert.equal(typeof a.usage.prompt_tokens_details.cached_tokens, 'number');
  // All of the prompt but its last token, whose logits start the answer.
  assert.equal(b.usage.prompt_tokens_details.cached_tokens, b.usage.prompt_tokens - 1);
  assert.equal(b.usage.prompt_tokens, a.usage.prompt_tokens);
});

await check('openai: chat streaming equals non-streaming, include_usage', async () => {
  const stream = await openai.chat.completions.create({
    model: modelName, messages: hello, max_tokens: 12, temperature: 0, stream: true,
    stream_options: { include_usage: true },
  });
  let text = '', finish = null, usage = null, chunks = 0, role = null;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta.role) role = c.delta.role;
      if (c.delta.content) text += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(role, 'assistant');
  assert.equal(text, greedyText);
  assert.ok(finish === 'stop' || finish === 'length');
  assert.ok(usage && usage.completion_tokens <= 12 && usage.prompt_tokens > 0);
  assert.ok(chunks >= 3, `only ${chunks} chunks: not streamed per token`);
});

await check('openai: completions, streaming and not', async () => {
  const r = await openai.completions.create({ model: modelName, prompt: 'Once upon a time', max_tokens: 10, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.ok(r.usage.completion_tokens <= 10);
  const stream = await openai.completions.create({ model: modelName, prompt: 'Once upon a time', max_tokens: 10, temperature: 0, stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
  assert.equal(text, r.choices[0].text);
});

await check('openai: logprobs, whole and streamed, chat and completions', async () => {
  const body = { model: modelName, messages: hello, max_tokens: 12, temperature: 0, logprobs: true, top_logprobs: 3 };
  const r = await openai.chat.completions.create(body);
  const content = r.choices[0].logprobs.content;
  assert.equal(content.length, r.usage.completion_tokens);
  for (const e of content) {
    assert.ok(e.logprob <= 0 && typeof e.token === 'string' && Array.isArray(e.bytes));
    assert.equal(e.top_logprobs.length, 3);
    assert.equal(e.top_logprobs[0].token, e.token);  // greedy picks the likeliest token
    assert.ok(e.top_logprobs[0].logprob >= e.top_logprobs[1].logprob);
  }
  assert.equal(Buffer.from(content.flatMap((e) => e.bytes)).toString('utf8').trim(), r.choices[0].message.content.trim());
  const streamed = [];
  for await (const chunk of await openai.chat.completions.create({ ...body, stream: true }))
    streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
  assert.deepEqual(streamed.map((e) => [e.token, e.logprob]), content.map((e) => [e.token, e.logprob]));
  const plain = await openai.chat.completions.create({ ...body, logprobs: false, top_logprobs: undefined });
  assert.equal(plain.choices[0].logprobs, null);

  const c = await openai.completions.create({ model: modelName, prompt: 'Once upon a time', max_tokens: 8, temperature: 0, logprobs: 2 });
  const lp = c.choices[0].logprobs;
  assert.equal(lp.tokens.length, c.usage.completion_tokens);
  assert.equal(lp.tokens.join(''), c.choices[0].text);
  assert.equal(lp.text_offset[0], 0);
  assert.equal(Object.keys(lp.top_logprobs[0]).length, 2);
  await assert.rejects(openai.chat.completions.create({ ...body, top_logprobs: 21 }), (e) => e.status === 400);
});

await check('openai: stop sequence cuts the text before it', async () => {
  const full = await openai.completions.create({ model: modelName, prompt: 'Once upon a time', max_tokens: 24, temperature: 0 });
  const text = full.choices[0].text;
  // A stop string from the middle of the greedy text, of plain printable characters (a model
  // with random weights writes arbitrary bytes, which come back as U+FFFD).
  let stop = null;
  for (let i = Math.floor(text.length / 2); i + 2 <= text.length && !stop; i++) {
    const s = text.slice(i, i + 2);
    if (/^[\x20-\x7e]{2}$/.test(s)) stop = s;
  }
  assert.ok(stop, `no printable stop string in the greedy text ${JSON.stringify(text)}`);
  const cut = await openai.completions.create({ model: modelName, prompt: 'Once upon a time', max_tokens: 24, temperature: 0, stop: [stop] });
  assert.equal(cut.choices[0].text, text.slice(0, text.indexOf(stop)));
  assert.equal(cut.choices[0].finish_reason, 'stop');
});

await check('openai: the same seed gives the same sample', async () => {
  const ask = (seed) => openai.chat.completions.create({ model: modelName, messages: hello, max_tokens: 16, temperature: 1.0, seed });
  const a = await ask(1234);
  const b = await ask(1234);
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  assert.equal(a.usage.completion_tokens, b.usage.completion_tokens);
});

await check('openai: bad values are a 400 BadRequestError', async () => {
  await assert.rejects(openai.chat.completions.create({ model: modelName, messages: hello, temperature: 7 }),
    (e) => e.status === 400 && /temperature/.test(e.message));
  await assert.rejects(openai.chat.completions.create({ model: modelName, messages: [] }), (e) => e.status === 400);
});

await check('openai: unknown model is a 404', async () => {
  await assert.rejects(openai.chat.completions.create({ model: 'no-such-model', messages: hello }), (e) => e.status === 404);
});

await check('openai: a wrong key is a 401', async () => {
  const wrong = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(wrong.models.list(), (e) => e.status === 401);
});

// ---- Ollama -------------------------------------------------------------------------------------
await check('ollama: list, ps, show', async () => {
  const tags = await ollama.list();
  assert.equal(tags.models.length, 1);
  assert.equal(tags.models[0].name, `${modelName}:latest`);
  assert.equal(tags.models[0].details.format, 'gguf');
  const ps = await ollama.ps();
  assert.equal(ps.models.length, 1);
  const show = await ollama.show({ model: modelName });
  assert.ok(show.model_info['general.architecture']);
  assert.equal(typeof show.template, 'string');
});

let ollamaText = '';
await check('ollama: generate non-streaming with counts and durations', async () => {
  const r = await ollama.generate({ model: modelName, prompt: 'Once upon a time', stream: false, options: { num_predict: 10, temperature: 0 } });
  assert.equal(r.done, true);
  assert.ok(['stop', 'length'].includes(r.done_reason));
  assert.ok(r.eval_count <= 10);
  if (r.done_reason === 'length') assert.equal(r.eval_count, 10);
  assert.ok(r.prompt_eval_count > 0);
  for (const k of ['total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration']) assert.equal(typeof r[k], 'number', k);
  assert.ok(r.total_duration > 0);
  ollamaText = r.response;
  // Asked again, only the prompt's last token is evaluated (Ollama counts evaluated tokens).
  const again = await ollama.generate({ model: modelName, prompt: 'Once upon a time', stream: false, options: { num_predict: 10, temperature: 0 } });
  assert.equal(again.response, r.response);
  assert.equal(again.prompt_eval_count, 1);
});

await check('ollama: generate streaming equals non-streaming', async () => {
  const stream = await ollama.generate({ model: modelName, prompt: 'Once upon a time', stream: true, options: { num_predict: 10, temperature: 0 } });
  let text = '', last = null, parts = 0;
  for await (const part of stream) {
    text += part.response;
    last = part;
    parts++;
  }
  assert.equal(text, ollamaText);
  assert.equal(last.done, true);
  assert.ok(parts >= 2);
});

await check('ollama: chat, streaming and not, seeds reproduce', async () => {
  const opts = { num_predict: 12, temperature: 0.9, seed: 99, stop: ['\n\n\n'] };
  const r = await ollama.chat({ model: modelName, messages: hello, stream: false, options: opts });
  assert.equal(r.message.role, 'assistant');
  assert.equal(r.done, true);
  const stream = await ollama.chat({ model: modelName, messages: hello, stream: true, options: opts });
  let text = '';
  for await (const part of stream) text += part.message.content;
  assert.equal(text, r.message.content);
});

await check('ollama: bad options are an error with the message', async () => {
  await assert.rejects(ollama.generate({ model: modelName, prompt: 'x', stream: false, options: { temperature: 'hot' } }),
    (e) => e.status_code === 400 && /temperature/.test(e.error ?? e.message));
  await assert.rejects(ollama.chat({ model: 'nope', messages: hello, stream: false }), (e) => e.status_code === 404);
});

// ---- Embeddings ---------------------------------------------------------------------------------
const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
await check('embeddings: openai (float and base64) and ollama.embed give the same unit vectors', async () => {
  const texts = ['The cat sat on the mat.', 'Tom had a red ball'];
  const f = await openai.embeddings.create({ model: modelName, input: texts, encoding_format: 'float' });
  assert.equal(f.object, 'list');
  assert.equal(f.data.length, 2);
  assert.deepEqual(f.data.map((d) => d.index), [0, 1]);
  assert.ok(f.usage.prompt_tokens > 0);
  assert.equal(f.usage.total_tokens, f.usage.prompt_tokens);
  for (const d of f.data) assert.ok(Math.abs(norm(d.embedding) - 1) < 1e-5);
  // The client asks for base64 by default and decodes it to floats itself.
  const b = await openai.embeddings.create({ model: modelName, input: texts });
  assert.deepEqual(b.data.map((d) => Array.from(d.embedding)), f.data.map((d) => d.embedding));
  const o = await ollama.embed({ model: modelName, input: texts });
  assert.equal(o.embeddings.length, 2);
  for (let i = 0; i < 2; i++) assert.deepEqual(o.embeddings[i], f.data[i].embedding);
  assert.equal(o.prompt_eval_count, f.usage.prompt_tokens);
});

await check('embeddings: bad input is a 400 with the message', async () => {
  await assert.rejects(openai.embeddings.create({ model: modelName, input: '' }),
    (e) => e.status === 400 && /empty/.test(e.message));
  await assert.rejects(ollama.embed({ model: modelName, input: [] }),
    (e) => e.status_code === 400 && /empty/.test(e.error ?? e.message));
});

console.log(`all ${checks} client checks passed`);
