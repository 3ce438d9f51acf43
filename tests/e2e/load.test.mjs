// A bounded load test of `loom serve` on loopback with the official `openai` SDK: 64 concurrent
// streaming clients for 3 rounds (a fifth abort mid-stream), a burst of 200 malformed bodies during
// round 2, then every finished stream is checked against the same request made alone, and the
// engine must be idle (no running request, no KV block held) once the dust settles.
//   LOOM_BINARY=build/loom node --test tests/e2e/load.test.mjs
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { OpenAI, isErrorBody, parseMetrics, startServer } from './server_util.mjs';

const CLIENTS = 64;
const ROUNDS = 3;
const ABORT_AFTER_CHUNKS = 3;
const MALFORMED = 200;
const PROMPTS = [
  'In the beginning', 'And God said', 'The LORD is my shepherd', 'Blessed are the',
  'And it came to pass', 'Thou shalt not', 'For God so loved the world', 'Let there be light',
];

let server;
let client;

before(async () => {
  server = await startServer();
  client = server.client({ timeout: 60000 });
});
after(() => server?.kill());

// Client i's request: chat or completions, greedy or seeded sampling, 16/24/32 tokens.
function spec(i) {
  const chat = i % 2 === 1;
  const prompt = PROMPTS[Math.floor(i / 2) % PROMPTS.length];
  const greedy = i % 4 < 2;
  const maxTokens = 16 + (i % 3) * 8;
  const sampling = greedy ? { temperature: 0 } : { temperature: 0.9, top_p: 0.95, seed: 1000 + i };
  const body = chat
    ? { model: 'builtin', messages: [{ role: 'user', content: prompt }], max_completion_tokens: maxTokens, ...sampling }
    : { model: 'builtin', prompt, max_tokens: maxTokens, ...sampling };
  return { i, chat, greedy, maxTokens, body };
}
const aborts = (i, round) => (i + round) % 5 === 0;

// One streamed request; aborted after a few chunks when asked.
async function streamOnce(s, abort) {
  const controller = new AbortController();
  const api = s.chat ? client.chat.completions : client.completions;
  const out = { text: '', finishReasons: [], usage: null, chunks: 0, aborted: false };
  try {
    const stream = await api.create({ ...s.body, stream: true, stream_options: { include_usage: true } },
                                    { signal: controller.signal });
    for await (const chunk of stream) {
      out.chunks += 1;
      if (chunk.usage) out.usage = chunk.usage;
      for (const c of chunk.choices) {
        assert.equal(c.index, 0);
        out.text += (s.chat ? c.delta.content : c.text) ?? '';
        if (c.finish_reason != null) out.finishReasons.push(c.finish_reason);
      }
      if (abort && out.chunks === ABORT_AFTER_CHUNKS) {
        controller.abort();
        break;
      }
    }
  } catch (e) {
    // The SDK ends an aborted stream quietly or with APIUserAbortError, depending on where it was.
    if (!(controller.signal.aborted && e instanceof OpenAI.APIUserAbortError)) throw e;
  }
  out.aborted = controller.signal.aborted;
  return out;
}

// The same request alone, not streamed.
async function alone(s) {
  if (s.chat) {
    const r = await client.chat.completions.create(s.body);
    return { text: r.choices[0].message.content, finishReason: r.choices[0].finish_reason, usage: r.usage };
  }
  const r = await client.completions.create(s.body);
  return { text: r.choices[0].text, finishReason: r.choices[0].finish_reason, usage: r.usage };
}

// A small deterministic PRNG so every run sends the same garbage.
function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// [path, body] pairs every OpenAI server must refuse with a 4xx and an error object.
function malformedBodies(n) {
  const rand = mulberry32(42);
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const cmpl = '/v1/completions';
  const chat = '/v1/chat/completions';
  const validC = { model: 'builtin', prompt: 'And God said', max_tokens: 8 };
  const validM = { model: 'builtin', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8 };
  const wrongTypes = [
    [cmpl, { prompt: 5 }], [cmpl, { prompt: { text: 'x' } }], [cmpl, { prompt: [1, 'a'] }],
    [cmpl, { prompt: [[1, 'a']] }], [cmpl, { prompt: [true] }], [cmpl, { prompt: [null] }], [cmpl, { prompt: [] }],
    [cmpl, { prompt: [[1, 2], [3.5]] }],
    [cmpl, { max_tokens: 'ten' }], [cmpl, { max_tokens: 3.5 }], [cmpl, { max_tokens: {} }], [cmpl, { max_tokens: [16] }],
    [cmpl, { temperature: 'hot' }], [cmpl, { temperature: [] }], [cmpl, { top_p: 'x' }],
    [cmpl, { n: '3' }], [cmpl, { n: 2.5 }], [cmpl, { seed: 'x' }], [cmpl, { seed: 1.5 }], [cmpl, { stop: 5 }],
    [cmpl, { stop: { a: 1 } }], [cmpl, { stop: [1, 2] }], [cmpl, { stream: 'maybe' }], [cmpl, { stream: {} }],
    [cmpl, { stream: [true] }], [cmpl, { stream: true, stream_options: { include_usage: 'x' } }],
    [cmpl, { logprobs: 'x' }], [cmpl, { logprobs: [2] }], [cmpl, { echo: 'x' }], [cmpl, { echo: {} }],
    [cmpl, { logit_bias: [1] }], [cmpl, { logit_bias: { abc: 1 } }], [cmpl, { logit_bias: { 5: 'x' } }],
    [cmpl, { presence_penalty: 'x' }], [cmpl, { max_tokens: -5 }], [cmpl, { model: 5 }],
    [chat, { messages: 'hi' }], [chat, { messages: 5 }], [chat, { messages: [5] }], [chat, { messages: [null] }],
    [chat, { messages: [] }], [chat, { messages: [{ role: 5, content: 'x' }] }],
    [chat, { messages: [{ role: 'user', content: { x: 1 } }] }], [chat, { logprobs: 'maybe' }],
    [chat, { logprobs: [true] }], [chat, { logprobs: 3 }], [chat, { logprobs: true, top_logprobs: 'x' }],
    [chat, { logprobs: true, top_logprobs: 2.5 }], [chat, { max_completion_tokens: 'x' }],
    [chat, { add_generation_prompt: 'x' }], [chat, { continue_final_message: 5 }], [chat, { stream: 2 }],
    [chat, { stream: 'maybe' }], [chat, { stream: true, stream_options: { include_usage: [] } }],
  ];
  const nonObjects = ['[]', '42', '"str"', 'null', 'true', '[{"prompt":"x"}]', '', '{}', ' ', '{"a":1}{"b":2}'];
  const huge = [
    [cmpl, '{"prompt":"x","max_tokens":1e400}'], [cmpl, '{"prompt":"x","max_tokens":99999999999999999999999}'],
    [cmpl, '{"prompt":"x","max_tokens":18446744073709551615}'], [cmpl, '{"prompt":"x","max_tokens":9007199254740993}'],
    [cmpl, '{"prompt":"x","max_tokens":-1e300}'], [cmpl, '{"prompt":"x","max_tokens":4294967312}'],
    [cmpl, '{"prompt":"x","max_tokens":4,"n":10000000000}'], [cmpl, '{"prompt":"x","max_tokens":4,"n":4294967297}'],
    [cmpl, '{"prompt":"x","max_tokens":4,"temperature":1e308}'], [cmpl, '{"prompt":"x","max_tokens":4,"temperature":1e400}'],
    [cmpl, '{"prompt":"x","max_tokens":4,"top_k":1e20}'], [cmpl, '{"prompt":"x","max_tokens":4,"top_k":-99999999999}'],
    [cmpl, '{"prompt":"x","max_tokens":4,"seed":1e400}'], [cmpl, '{"prompt":"x","max_tokens":4,"seed":18446744073709551616}'],
    [cmpl, '{"prompt":"x","max_tokens":4,"logprobs":1000000000}'], [cmpl, '{"prompt":[4294967301],"max_tokens":4}'],
    [cmpl, '{"prompt":[2147483648],"max_tokens":4}'], [cmpl, '{"prompt":[-1],"max_tokens":4}'],
    [chat, '{"messages":[{"role":"user","content":"x"}],"max_completion_tokens":4294967312}'],
    [chat, '{"messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":1e9}'],
  ];
  const withPatch = ([p, patch]) => [p, JSON.stringify({ ...(p === cmpl ? validC : validM), ...patch })];
  // Every wrong-type and huge-number case once, the rest drawn at random.
  const out = [...wrongTypes.map(withPatch), ...huge];
  while (out.length < n) {
    const path = rand() < 0.5 ? cmpl : chat;
    switch (out.length % 5) {
      case 0: {  // truncated JSON: a valid body cut short
        const full = JSON.stringify(path === cmpl ? validC : validM);
        out.push([path, full.slice(0, 1 + Math.floor(rand() * (full.length - 1)))]);
        break;
      }
      case 1:  // a valid body with one field of the wrong type
        out.push(withPatch(pick(wrongTypes)));
        break;
      case 2:  // JSON that is no request object
        out.push([path, pick(nonObjects)]);
        break;
      case 3: {  // random bytes
        const bytes = new Uint8Array(1 + Math.floor(rand() * 256));
        for (let b = 0; b < bytes.length; ++b) bytes[b] = Math.floor(rand() * 256);
        out.push([path, bytes]);
        break;
      }
      default:  // huge or overflowing numbers
        out.push(pick(huge));
    }
  }
  return out.slice(0, n);
}

async function sendMalformed(bodies) {
  const bad = new Map();  // distinct failures: description -> count
  await Promise.all(bodies.map(async ([path, body]) => {
    let what;
    try {
      const r = await server.post(path, body);
      if (r.status >= 400 && r.status < 500 && isErrorBody(r.body)) return;
      what = `${r.status}${isErrorBody(r.body) ? ` ${r.body.error.message}` : r.status >= 300 ? ` ${r.text.slice(0, 100)}` : ''}`;
    } catch (e) {
      what = `no response: ${e.message}`;
    }
    const key = `${path} ${describe(body)} -> ${what}`;
    bad.set(key, (bad.get(key) ?? 0) + 1);
  }));
  return [...bad.keys()].sort();
}
const describe = (b) => (typeof b === 'string' ? b.slice(0, 200) : `<${b.length} random bytes>`);

async function metrics() {
  const r = await server.get('/metrics');
  assert.equal(r.status, 200);
  return r.text;
}

const specs = Array.from({ length: CLIENTS }, (_, i) => spec(i));
const reference = [];
const results = [];  // [round][client]
let malformed = null;
const timing = {};

test('references: each request alone', async () => {
  const t0 = Date.now();
  for (const s of specs) reference.push(await alone(s));
  timing.references = Date.now() - t0;
  for (const [i, ref] of reference.entries()) {
    assert.equal(ref.finishReason, 'length', `reference ${i}`);
    assert.equal(ref.usage.completion_tokens, specs[i].maxTokens);
  }
});

test(`${CLIENTS} streaming clients x ${ROUNDS} rounds, a fifth aborting, ${MALFORMED} malformed bodies in round 2`, async () => {
  const t0 = Date.now();
  timing.rounds = [];
  for (let round = 0; round < ROUNDS; ++round) {
    const tr = Date.now();
    const burst = round === 1 ? sendMalformed(malformedBodies(MALFORMED)) : null;
    results.push(await Promise.all(specs.map((s) => streamOnce(s, aborts(s.i, round)))));
    if (burst) malformed = await burst;
    timing.rounds.push(Date.now() - tr);
  }
  timing.load = Date.now() - t0;
  console.log(`# load: references alone ${timing.references} ms; ${ROUNDS} rounds x ${CLIENTS} streaming clients + ` +
              `${MALFORMED} malformed bodies ${timing.load} ms (rounds ${timing.rounds.join(', ')} ms)`);
});

test('every finished stream equals the same request alone (text, finish_reason, usage)', () => {
  assert.equal(results.length, ROUNDS, 'the load ran');
  let aborted = 0;
  let checked = 0;
  const failures = [];
  for (const [round, rs] of results.entries()) {
    for (const [i, r] of rs.entries()) {
      const s = specs[i];
      const tag = `round ${round} client ${i} (${s.chat ? 'chat' : 'completions'}, ${s.greedy ? 'greedy' : 'seeded'})`;
      if (aborts(i, round)) {
        if (!r.aborted || r.chunks !== ABORT_AFTER_CHUNKS) failures.push(`${tag}: meant to abort after ${ABORT_AFTER_CHUNKS} chunks`);
        aborted += 1;
        continue;
      }
      checked += 1;
      const ref = reference[i];
      if (r.text !== ref.text) failures.push(`${tag}: text ${JSON.stringify(r.text)} != alone ${JSON.stringify(ref.text)}`);
      if (r.finishReasons.join() !== 'length') failures.push(`${tag}: finish reasons [${r.finishReasons}]`);
      if (!r.usage || r.usage.completion_tokens !== s.maxTokens || r.usage.prompt_tokens !== ref.usage.prompt_tokens ||
          r.usage.total_tokens !== ref.usage.total_tokens) {
        failures.push(`${tag}: usage ${JSON.stringify(r.usage)} vs alone ${JSON.stringify(ref.usage)}`);
      }
    }
  }
  assert.equal(aborted + checked, CLIENTS * ROUNDS);
  assert.ok(aborted >= Math.floor(CLIENTS / 5) * ROUNDS, `${aborted} aborted`);
  assert.deepEqual(failures, [], `${failures.length} of ${checked} finished streams are wrong`);
});

test('every malformed body got a 4xx with an OpenAI error object', () => {
  assert.ok(malformed, 'the burst ran');
  assert.deepEqual(malformed, [], `${malformed.length} distinct malformed bodies were not refused properly`);
});

test('afterwards the server is up, answers the same, and is idle (metrics)', async () => {
  assert.equal((await server.get('/health')).status, 200);
  for (const i of [0, 1, 2, 3]) assert.equal((await alone(specs[i])).text, reference[i].text);

  // Aborts land asynchronously: poll until nothing runs and no KV block is held.
  let text = '';
  for (let k = 0; k < 20; ++k) {
    text = await metrics();
    const m = parseMetrics(text);
    if (m['loom:num_requests_running'] === 0 && m['loom:kv_cache_usage_perc'] === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(text, /^loom:num_requests_running\{[^}]*\} 0$/m);
  assert.match(text, /^loom:num_requests_waiting\{[^}]*\} 0$/m);
  assert.match(text, /^loom:kv_cache_usage_perc\{[^}]*\} 0$/m);
  const finished = results.flat().filter((r) => !r.aborted).length;
  assert.ok(parseMetrics(text)['loom:generation_tokens_total'] >= finished * 16, 'the generated tokens are counted');
});

test('SIGTERM after the load: exit code 0', async () => {
  const exit = await server.stop(10000);
  assert.deepEqual(exit, { code: 0, signal: null }, server.stderr());
});
