// `hearth serve` without -m: every library model on demand, driven by the official `openai` and
// `ollama` npm clients. Two modes:
//   node models.mjs library BASE_URL API_KEY   a server without a tight budget, whose library
//        holds stories:latest and tale:v2 (both stories260K) and tiny:latest (synthetic)
//   node models.mjs budget BASE_URL GREEDY     a server whose --max-memory holds one stories260K:
//        the idle model is evicted, reloads give the same greedy answer (GREEDY, from library
//        mode), and the larger tiny model gets the clear never-fits error
// Exits non-zero on the first failed check (node:assert), printing what differed.
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { Ollama } from 'ollama';

const [mode, base, arg] = process.argv.slice(2);
const key = mode === 'library' ? arg : 'unused';
const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });
const ollama = new Ollama({ host: base, headers: { Authorization: `Bearer ${key}` } });

async function check(name, fn) {
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (e) {
    console.error(`not ok - ${name}\n${e.stack || e}`);
    process.exit(1);
  }
}

const greedy = async (model) =>
  (await ollama.generate({ model, prompt: 'Once upon a time', raw: true, options: { num_predict: 16, temperature: 0 } }))
    .response;
const loaded = async () => (await ollama.ps()).models.map((m) => m.name).sort();

if (mode === 'library') {
  await check('ollama: list and openai: models.list show the library', async () => {
    const names = (await ollama.list()).models.map((m) => m.name).sort();
    assert.deepEqual(names, ['stories:latest', 'tale:v2', 'tiny:latest']);
    const ids = [];
    for await (const m of openai.models.list()) ids.push(m.id);
    assert.deepEqual(ids.sort(), names);
    assert.deepEqual(await loaded(), []);
  });

  let answer = '';
  await check('requests to two models by name', async () => {
    answer = await greedy('stories');
    assert.ok(answer.length > 0);
    const r = await openai.completions.create({ model: 'tale:v2', prompt: 'Once upon a time', max_tokens: 16, temperature: 0 });
    assert.equal(r.model, 'tale:v2');
    assert.equal(r.choices[0].text, answer);  // the same weights under another name
    const c = await openai.chat.completions.create({ model: 'tale:v2', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 });
    assert.equal(c.model, 'tale:v2');
  });

  await check('ollama: ps shows both loaded, expiring in about 5 minutes', async () => {
    const ps = (await ollama.ps()).models;
    assert.deepEqual(ps.map((m) => m.name).sort(), ['stories:latest', 'tale:v2']);
    for (const m of ps) {
      const left = new Date(m.expires_at).getTime() - Date.now();
      assert.ok(left > 4 * 60e3 && left <= 5 * 60e3 + 1e3, `expires_at ${m.expires_at}`);
      assert.ok(m.size > 0);
      assert.equal(m.size_vram, 0);
      assert.equal(m.details.family, 'llama');
      assert.match(m.digest, /^[0-9a-f]{64}$/);
    }
  });

  await check('keep_alive 0 unloads (ollama.generate without a prompt)', async () => {
    const r = await ollama.generate({ model: 'stories', prompt: '', keep_alive: 0 });
    assert.equal(r.done_reason, 'unload');
    assert.deepEqual(await loaded(), ['tale:v2']);
  });

  await check('a load request keeps a model forever with keep_alive -1; a request with keep_alive 0 unloads after it', async () => {
    const r = await ollama.chat({ model: 'stories', messages: [], keep_alive: -1 });
    assert.equal(r.done_reason, 'load');
    const ps = (await ollama.ps()).models.find((m) => m.name === 'stories:latest');
    assert.ok(new Date(ps.expires_at).getFullYear() > 2900, ps.expires_at);
    await ollama.generate({ model: 'tale:v2', prompt: 'Once', keep_alive: '0s', options: { num_predict: 2 } });
    assert.deepEqual(await loaded(), ['stories:latest']);
  });

  await check('an unknown model is a 404 on both APIs', async () => {
    await assert.rejects(ollama.generate({ model: 'nosuch', prompt: 'x' }), (e) => e.status_code === 404);
    await assert.rejects(
      openai.chat.completions.create({ model: 'nosuch:v1', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e.status === 404 && e.code === 'model_not_found');
  });

  await check('ollama: show, copy, delete', async () => {
    const s = await ollama.show({ model: 'tiny' });
    assert.equal(s.details.family, 'llama');
    await ollama.copy({ source: 'stories', destination: 'copied:v1' });
    assert.ok((await ollama.list()).models.some((m) => m.name === 'copied:v1'));
    assert.equal((await greedy('copied:v1')), answer);
    await ollama.delete({ model: 'copied:v1' });
    assert.ok(!(await ollama.list()).models.some((m) => m.name === 'copied:v1'));
    assert.ok(!(await loaded()).includes('copied:v1'));  // deleting unloads it
    await assert.rejects(ollama.delete({ model: 'copied:v1' }), (e) => e.status_code === 404);
    await assert.rejects(ollama.copy({ source: 'nosuch', destination: 'x' }), (e) => e.status_code === 404);
  });

  await check('embeddings by name', async () => {
    const r = await ollama.embed({ model: 'tale:v2', input: ['Once upon a time'] });
    assert.equal(r.embeddings.length, 1);
    assert.ok(r.embeddings[0].length > 0);
  });
  console.log(`GREEDY=${JSON.stringify(answer)}`);
} else if (mode === 'budget') {
  const want = JSON.parse(arg);
  await check('the first model loads and answers as in library mode', async () => {
    assert.equal(await greedy('stories'), want);
    assert.deepEqual(await loaded(), ['stories:latest']);
  });
  await check('a budget that holds one model evicts the idle one', async () => {
    const r = await openai.completions.create({ model: 'tale:v2', prompt: 'Once upon a time', max_tokens: 16, temperature: 0 });
    assert.equal(r.choices[0].text, want);
    assert.deepEqual(await loaded(), ['tale:v2']);
  });
  await check('the evicted model reloads and gives the same greedy answer', async () => {
    assert.equal(await greedy('stories'), want);
    assert.deepEqual(await loaded(), ['stories:latest']);
  });
  await check('a model larger than the budget gets a clear error, not a crash', async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e.status === 400 && e.code === 'model_too_large' && /tiny:latest/.test(e.message) &&
             /needs \d+ bytes/.test(e.message) && /budget is \d+ bytes/.test(e.message));
    await assert.rejects(ollama.generate({ model: 'tiny', prompt: 'x' }), (e) => e.status_code === 400 && /never fit/.test(e.error));
    assert.deepEqual(await loaded(), ['stories:latest']);  // nothing was unloaded for it
  });
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
