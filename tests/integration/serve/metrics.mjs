// GET /metrics of a running `hearth serve`, read with a Prometheus text-format parser
// (parse-prometheus-text-format) plus the naming rules we promise, and checked to count exactly
// what this script asked for through the official openai client; /ready answers without the key.
// Usage: node metrics.mjs BASE_URL API_KEY MODEL_NAME
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import parsePrometheus from 'parse-prometheus-text-format';

const [base, key, modelName] = process.argv.slice(2);
const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });

async function scrape() {
  const r = await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await r.text();
  const families = parsePrometheus(text);
  const byName = new Map(families.map((f) => [f.name, f]));
  assert.equal(byName.size, families.length, 'a metric family appears twice');
  for (const f of families) {
    assert.match(f.name, /^(hearth|process)_[a-z0-9_]+$/, f.name);
    if (f.type === 'COUNTER') assert.match(f.name, /_total$/, `counter ${f.name}`);
    if (f.type === 'HISTOGRAM') {
      assert.match(f.name, /_seconds$/, `histogram ${f.name}`);
      for (const m of f.metrics) {
        let previous = 0;
        for (const [le, n] of Object.entries(m.buckets).sort((a, b) => Number(a[0]) - Number(b[0]))) {
          assert.ok(Number(n) >= previous, `${f.name} bucket le=${le} not cumulative`);
          previous = Number(n);
        }
        assert.equal(m.buckets['+Inf'], m.count, `${f.name}: +Inf bucket != count`);
      }
    }
    if (/bytes/.test(f.name)) assert.match(f.name, /_bytes$/, f.name);
  }
  const value = (name, labels = {}) => {
    const f = byName.get(name);
    assert.ok(f, `no ${name} in\n${text}`);
    const m = f.metrics.find((x) => Object.entries(labels).every(([k, v]) => (x.labels || {})[k] === v));
    if (!m) return 0;  // a counter with no sample for these labels yet
    return Number(f.type === 'HISTOGRAM' ? m.count : m.value);
  };
  return { value, byName };
}

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

await check('metrics: 401 without the key, /ready and /health without it', async () => {
  assert.equal((await fetch(`${base}/metrics`)).status, 401);
  const ready = await fetch(`${base}/ready`);
  assert.equal(ready.status, 200);
  assert.equal((await ready.json()).status, 'ready');
  assert.equal((await fetch(`${base}/health`)).status, 200);
});

await check('metrics: counts exactly the requests, tokens and latencies served', async () => {
  const before = await scrape();
  const route = { route: '/v1/chat/completions', status: '200' };
  let prompt = 0, generated = 0, intervals = 0;
  for (let i = 0; i < 3; i++) {
    const r = await openai.chat.completions.create({
      model: modelName, messages: [{ role: 'user', content: `Once upon a time ${i}` }], max_tokens: 6, temperature: 0,
    });
    prompt += r.usage.prompt_tokens;
    generated += r.usage.completion_tokens;
    intervals += Math.max(0, r.usage.completion_tokens - 1);
  }
  const stream = await openai.chat.completions.create({
    model: modelName, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 6, temperature: 0, stream: true,
    stream_options: { include_usage: true },
  });
  for await (const chunk of stream) {
    if (chunk.usage) {
      prompt += chunk.usage.prompt_tokens;
      generated += chunk.usage.completion_tokens;
      intervals += Math.max(0, chunk.usage.completion_tokens - 1);
    }
  }
  const after = await scrape();
  const delta = (name, labels) => after.value(name, labels) - before.value(name, labels);
  assert.equal(delta('hearth_requests_total', route), 4);
  assert.equal(delta('hearth_prompt_tokens_total', { model: modelName }), prompt);
  assert.equal(delta('hearth_generated_tokens_total', { model: modelName }), generated);
  assert.equal(delta('hearth_time_to_first_token_seconds'), 4);
  assert.equal(delta('hearth_time_per_output_token_seconds'), intervals);
  assert.equal(after.value('hearth_model_loaded', { model: modelName }), 1);
  assert.ok(after.value('hearth_model_bytes', { model: modelName }) > 0);
  assert.ok(after.value('process_resident_memory_bytes') > 1e6);
  assert.ok(after.value('hearth_slots') >= 1);
  assert.equal(after.value('hearth_slots_busy'), 0);
  assert.equal(after.value('hearth_queue_depth'), 0);
  assert.equal(after.value('hearth_ready'), 1);
  for (const n of ['hearth_prompt_cache_hits_total', 'hearth_build_info']) assert.ok(after.byName.has(n), n);
  // The scrape before this one was counted too (it is logged when its answer is written).
  assert.ok(after.value('hearth_requests_total', { route: '/metrics', status: '200' }) >= 1);
});

console.log(`metrics: ${checks} checks passed`);
