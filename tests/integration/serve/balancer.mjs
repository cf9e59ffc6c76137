// Drives two `hearth serve` replicas through nginx (see balancer.sh) with the official openai
// client; each replica's /metrics (parsed as Prometheus text) says who served what.
// Usage: node balancer.mjs BALANCER_URL REPLICA_A_URL REPLICA_B_URL REPLICA_A_PID
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import parsePrometheus from 'parse-prometheus-text-format';

const [balancer, aUrl, bUrl, aPid] = process.argv.slice(2);
const replicas = { a: aUrl, b: bUrl };
const client = (sessionKey) => new OpenAI({
  baseURL: `${balancer}/v1`, apiKey: 'unused', maxRetries: 0,
  defaultHeaders: sessionKey ? { 'X-Session-Key': sessionKey } : {},
});
const messages = (text) => [{ role: 'user', content: text }];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function metric(url, name, labels = {}) {
  const r = await fetch(`${url}/metrics`);
  assert.equal(r.status, 200);
  const family = parsePrometheus(await r.text()).find((f) => f.name === name);
  assert.ok(family, `no ${name} at ${url}`);
  const m = family.metrics.find((x) => Object.entries(labels).every(([k, v]) => (x.labels || {})[k] === v));
  return m ? Number(m.value) : 0;
}
const chatsServed = (url) => metric(url, 'hearth_requests_total', { route: '/v1/chat/completions', status: '200' });
async function served() {
  return { a: await chatsServed(aUrl), b: await chatsServed(bUrl) };
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

await check('requests without a session key reach both replicas, and each one counts its own', async () => {
  const before = await served();
  const n = 24;
  for (let i = 0; i < n; i++) {
    const r = await client().chat.completions.create({ messages: messages(`story ${i}`), max_tokens: 2, model: 'stories' });
    assert.equal(r.object, 'chat.completion');
  }
  const after = await served();
  const da = after.a - before.a, db = after.b - before.b;
  assert.equal(da + db, n, `replicas counted ${da} + ${db}, sent ${n}`);
  // Spread by a random key per request: both get some (all 24 on one: odds 2^-23).
  assert.ok(da > 0 && db > 0, `a served ${da}, b ${db}`);
});

// Which replica a session key lands on (the same one every time).
async function homeOf(key, turns) {
  const before = await served();
  const c = client(key);
  for (let i = 0; i < turns; i++)
    await c.chat.completions.create({ messages: messages(`turn ${i}`), max_tokens: 2, model: 'stories' });
  const after = await served();
  const da = after.a - before.a, db = after.b - before.b;
  assert.ok((da === turns && db === 0) || (da === 0 && db === turns), `key ${key}: a ${da}, b ${db}`);
  return da ? 'a' : 'b';
}

let keyOnA = null;
await check('a session key keeps a conversation on one replica', async () => {
  for (let i = 0; i < 16 && !keyOnA; i++) {
    const key = `conversation-${i}`;
    if ((await homeOf(key, i === 0 ? 6 : 1)) === 'a') keyOnA = key;
  }
  assert.ok(keyOnA, 'no key of 16 landed on replica a');
});

await check('a stream passes through the balancer while it is generated', async () => {
  // The first chunk arrives while the replica still decodes (a busy slot): nothing was held
  // back until the end. A story may end early; then try again.
  let seen = false;
  for (let attempt = 0; attempt < 5 && !seen; attempt++) {
    const controller = new AbortController();
    const stream = await client(keyOnA).chat.completions.create(
      { messages: messages('Once upon a time'), max_tokens: 3000, temperature: 1, stream: true, model: 'stories' },
      { signal: controller.signal });
    let chunks = 0;
    try {
      for await (const chunk of stream) {
        if (!chunk.choices[0]?.delta?.content) continue;
        if (++chunks === 3) {
          seen = (await metric(aUrl, 'hearth_slots_busy')) === 1;
          controller.abort();
        }
      }
    } catch (e) {
      if (e.name !== 'AbortError' && !/abort/i.test(String(e))) throw e;
    }
  }
  assert.ok(seen, 'the stream never arrived while replica a was still generating');
  // The client hung up: nginx closes its upstream connection and the replica frees the slot.
  let busy = 1;
  for (let i = 0; i < 100 && busy; i++) {
    busy = await metric(aUrl, 'hearth_slots_busy');
    if (busy) await sleep(100);
  }
  assert.equal(busy, 0, 'the aborted stream still holds a slot on replica a');
});

await check('a draining replica (SIGTERM) stops getting traffic and no request fails', async () => {
  // A long request holds replica a while it drains.
  const long = client(keyOnA).chat.completions.create(
    { messages: messages('Once upon a time'), max_tokens: 3000, temperature: 1, model: 'stories' });
  for (let i = 0; i < 100 && (await metric(aUrl, 'hearth_slots_busy')) === 0; i++) await sleep(20);
  const bBefore = await chatsServed(bUrl);
  process.kill(Number(aPid), 'SIGTERM');
  // Replica a says so itself once the signal is handled (until it exits, when the request
  // above ended).
  let ready = 200;
  for (let i = 0; i < 100 && ready === 200; i++) {
    ready = await fetch(`${aUrl}/ready`).then((r) => r.status, () => 'gone');
    if (ready === 200) await sleep(20);
  }
  assert.ok(ready === 503 || ready === 'gone', `/ready of the draining replica: ${ready}`);
  // Its conversation and everything else now go to b: a's 503s (or refused connections once it
  // exited) are retried there by nginx.
  const n = 10;
  for (let i = 0; i < n; i++) {
    const r = await client(i % 2 ? keyOnA : undefined).chat.completions.create(
      { messages: messages(`during the drain ${i}`), max_tokens: 2, model: 'stories' });
    assert.equal(r.object, 'chat.completion');
  }
  assert.equal((await chatsServed(bUrl)) - bBefore, n);
  // The request a was running when it got SIGTERM finished with an answer.
  const r = await long;
  assert.ok(r.usage.completion_tokens > 0, JSON.stringify(r.usage));
});

console.log(`balancer: ${checks} checks passed`);
