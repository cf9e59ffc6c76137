// Structured output through the official clients: OpenAI response_format (json_schema and
// json_object, whole and streamed, chat and completions) and Ollama format ("json" and a schema)
// against a `hearth serve` running a tiny model (run.sh). Every answer must parse and validate
// against its schema (ajv); a schema hearth cannot enforce is a 400 that names the keyword.
// Usage: node structured.mjs BASE_URL MODEL_NAME
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

// Bounded strings and arrays: a tiny model's answer ends well within max_tokens.
const person = {
  type: 'object', additionalProperties: false, required: ['name', 'age', 'mood'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 10 },
    age: { type: 'integer' },
    mood: { enum: ['happy', 'sad'] },
    pets: { type: 'array', items: { type: 'string', maxLength: 6 }, maxItems: 2 },
    address: { anyOf: [{ type: 'null' }, { $ref: '#/$defs/place' }] },
  },
  $defs: { place: { type: 'object', properties: { city: { type: 'string', maxLength: 8 } }, required: ['city'], additionalProperties: false } },
};
const ajv = new Ajv();
const validPerson = ajv.compile(person);
const messages = [{ role: 'user', content: 'Tell me about a person.' }];
const schemaFormat = { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: person } };

function expectPerson(text) {
  let value;
  assert.doesNotThrow(() => { value = JSON.parse(text); }, `not JSON: ${text}`);
  assert.ok(validPerson(value), `${text}: ${JSON.stringify(validPerson.errors)}`);
}

await check('openai: json_schema answers validate (several seeds)', async () => {
  for (const seed of [1, 2, 3, 4]) {
    const r = await openai.chat.completions.create({
      model: modelName, messages, max_tokens: 300, temperature: 0.9, seed, response_format: schemaFormat,
    });
    assert.equal(r.choices[0].finish_reason, 'stop', JSON.stringify(r.choices[0]));
    expectPerson(r.choices[0].message.content);
  }
});

await check('openai: streamed json_schema answer equals the whole one', async () => {
  const body = { model: modelName, messages, max_tokens: 300, temperature: 0, response_format: schemaFormat };
  const whole = await openai.chat.completions.create(body);
  let text = '';
  for await (const chunk of await openai.chat.completions.create({ ...body, stream: true }))
    text += chunk.choices[0]?.delta?.content ?? '';
  assert.equal(text, whole.choices[0].message.content);
  expectPerson(text);
});

await check('openai: json_object and /v1/completions', async () => {
  const r = await openai.chat.completions.create({
    model: modelName, messages, max_tokens: 300, temperature: 0, response_format: { type: 'json_object' },
  });
  if (r.choices[0].finish_reason === 'stop') {
    const v = JSON.parse(r.choices[0].message.content);
    assert.equal(typeof v, 'object');
    assert.ok(v !== null && !Array.isArray(v));
  } else {
    assert.equal(r.choices[0].finish_reason, 'length');  // an open-ended object may run out of tokens
    assert.match(r.choices[0].message.content, /^\{/);
  }
  const c = await openai.completions.create({
    model: modelName, prompt: 'Once upon a time', max_tokens: 300, temperature: 0, response_format: schemaFormat,
  });
  expectPerson(c.choices[0].text);
});

await check('openai: an unsupported schema keyword is a 400 naming it', async () => {
  await assert.rejects(openai.chat.completions.create({
    model: modelName, messages, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', pattern: '^a' } } },
  }), (e) => {
    assert.equal(e.status, 400);
    assert.match(e.message, /pattern/);
    return true;
  });
});

await check('ollama: format with a schema, and "json"', async () => {
  const r = await ollama.chat({ model: modelName, messages, format: person, stream: false, options: { num_predict: 300, temperature: 0 } });
  assert.equal(r.done_reason, 'stop');
  expectPerson(r.message.content);
  const g = await ollama.generate({ model: modelName, prompt: 'A person:', format: person, stream: false, options: { num_predict: 300, seed: 9, temperature: 1 } });
  expectPerson(g.response);
  let streamed = '';
  for await (const part of await ollama.generate({ model: modelName, prompt: 'A person:', format: person, stream: true, options: { num_predict: 300, temperature: 0 } }))
    streamed += part.response;
  expectPerson(streamed);
  const j = await ollama.generate({ model: modelName, prompt: 'JSON:', format: 'json', stream: false, options: { num_predict: 300, temperature: 0 } });
  assert.match(j.response, /^\{/);
  await assert.rejects(ollama.generate({ model: modelName, prompt: 'x', format: 'yaml', stream: false }), /format/);
});

console.log(`structured output checks: ${checks} passed`);
