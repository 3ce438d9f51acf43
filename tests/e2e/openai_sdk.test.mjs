// `loom serve` (the built-in model) driven by the official `openai` npm SDK: every answer is checked
// against the offline CLI, /tokenize, or the shapes OpenAI and vLLM define.
//   LOOM_BINARY=build/loom node --test tests/e2e/openai_sdk.test.mjs
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { OpenAI, generateOffline, isErrorBody, startServer } from './server_util.mjs';

const PROMPT = 'And God said';
const MESSAGES = [{ role: 'user', content: 'Who made the heaven and the earth?' }];

let server;
let client;

before(async () => {
  server = await startServer();
  client = server.client();
});
after(() => server?.kill());

async function tokenCount(body) {
  const r = await server.post('/tokenize', body);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.count, r.body.tokens.length);
  return r.body.count;
}

// Awaits a promise that must reject with an SDK error of class `cls` and HTTP `status`.
async function rejectsWith(promise, cls, status) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${cls.name} (${status}), the request succeeded`);
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${err?.constructor?.name}: ${err?.message}`);
  assert.equal(err.status, status, err.message);
  assert.equal(typeof err.error?.message, 'string', 'the body has an OpenAI error object');
  return err;
}

async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

// The log-probabilities of a UTF-8 token: bytes are the token's bytes.
function assertBytes(entry) {
  assert.ok(Array.isArray(entry.bytes), `bytes of ${JSON.stringify(entry)}`);
  for (const b of entry.bytes) assert.ok(Number.isInteger(b) && b >= 0 && b <= 255, `byte ${b}`);
  if (!entry.token.includes('\uFFFD')) assert.deepEqual(entry.bytes, [...Buffer.from(entry.token, 'utf8')]);
}

test('models.list: the one built-in model with its context length', async () => {
  const page = await client.models.list();
  assert.equal(page.data.length, 1);
  const m = page.data[0];
  assert.equal(m.id, 'builtin');
  assert.equal(m.object, 'model');
  assert.equal(m.max_model_len, server.maxModelLen);
  assert.ok(Number.isInteger(m.max_model_len) && m.max_model_len > 0);
  assert.equal(server.model, 'builtin');
});

test('completions: greedy text equals `loom generate`, usage from /tokenize', async () => {
  const offline = await generateOffline(PROMPT, 16, ['--temperature', '0']);
  const r = await client.completions.create({ model: 'builtin', prompt: PROMPT, max_tokens: 16, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.model, 'builtin');
  assert.match(r.id, /^cmpl-/);
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].index, 0);
  assert.equal(r.choices[0].text, offline.text);
  assert.ok(r.choices[0].text.length > 0);
  assert.equal(r.choices[0].finish_reason, 'length');
  const promptTokens = await tokenCount({ prompt: PROMPT });
  assert.deepEqual(r.usage, { prompt_tokens: promptTokens, completion_tokens: 16, total_tokens: promptTokens + 16 });
});

test('completions: streamed deltas concatenate to the same text; include_usage adds a last usage chunk', async () => {
  const whole = await client.completions.create({ model: 'builtin', prompt: PROMPT, max_tokens: 16, temperature: 0 });
  const chunks = await collect(await client.completions.create({
    model: 'builtin', prompt: PROMPT, max_tokens: 16, temperature: 0, stream: true,
    stream_options: { include_usage: true },
  }));
  assert.ok(chunks.length >= 2);
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.deepEqual(last.usage, whole.usage);
  const body = chunks.slice(0, -1);
  for (const c of body) {
    assert.equal(c.choices.length, 1);
    assert.equal(c.choices[0].index, 0);
    assert.ok(c.usage == null, 'only the last chunk carries usage');
  }
  assert.equal(body.map((c) => c.choices[0].text).join(''), whole.choices[0].text);
  const reasons = body.map((c) => c.choices[0].finish_reason).filter((f) => f != null);
  assert.deepEqual(reasons, ['length']);
  assert.equal(body.at(-1).choices[0].finish_reason, 'length');

  // Without stream_options no chunk has usage.
  const plain = await collect(await client.completions.create({
    model: 'builtin', prompt: PROMPT, max_tokens: 16, temperature: 0, stream: true }));
  for (const c of plain) assert.ok(c.usage == null);
  assert.equal(plain.map((c) => c.choices[0]?.text ?? '').join(''), whole.choices[0].text);
});

test('completions: stop strings end the text before the stop string', async () => {
  const whole = await client.completions.create({ model: 'builtin', prompt: PROMPT, max_tokens: 32, temperature: 0 });
  const text = whole.choices[0].text;
  // A word from the middle of the greedy text (so the stop happens after some output).
  const word = text.split(/\W+/).filter((w) => w.length >= 3).find((w) => text.indexOf(w) > 4);
  assert.ok(word, `no usable stop word in ${JSON.stringify(text)}`);
  const expected = text.slice(0, text.indexOf(word));
  const r = await client.completions.create({
    model: 'builtin', prompt: PROMPT, max_tokens: 32, temperature: 0, stop: [word, 'never-generated-zzz'] });
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.ok(!r.choices[0].text.includes(word));
  assert.equal(r.choices[0].text, expected);
  assert.ok(r.usage.completion_tokens < 32);

  const chunks = await collect(await client.completions.create({
    model: 'builtin', prompt: PROMPT, max_tokens: 32, temperature: 0, stop: word, stream: true }));
  assert.equal(chunks.map((c) => c.choices[0]?.text ?? '').join(''), expected);
  assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
});

test('chat: non-streaming and streaming agree; max_completion_tokens bounds the output', async () => {
  const promptTokens = await tokenCount({ messages: MESSAGES });
  const r = await client.chat.completions.create({
    model: 'builtin', messages: MESSAGES, temperature: 0, max_completion_tokens: 12 });
  assert.equal(r.object, 'chat.completion');
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.choices.length, 1);
  const choice = r.choices[0];
  assert.equal(choice.index, 0);
  assert.equal(choice.message.role, 'assistant');
  assert.equal(typeof choice.message.content, 'string');
  assert.ok(choice.message.content.length > 0);
  assert.equal(choice.finish_reason, 'length');
  assert.deepEqual(r.usage, { prompt_tokens: promptTokens, completion_tokens: 12, total_tokens: promptTokens + 12 });

  // max_tokens (the older name) means the same.
  const legacy = await client.chat.completions.create({ model: 'builtin', messages: MESSAGES, temperature: 0, max_tokens: 12 });
  assert.equal(legacy.choices[0].message.content, choice.message.content);
  // A smaller bound gives a prefix of the same greedy text.
  const short = await client.chat.completions.create({
    model: 'builtin', messages: MESSAGES, temperature: 0, max_completion_tokens: 4 });
  assert.equal(short.usage.completion_tokens, 4);
  assert.ok(choice.message.content.startsWith(short.choices[0].message.content));

  const chunks = await collect(await client.chat.completions.create({
    model: 'builtin', messages: MESSAGES, temperature: 0, max_completion_tokens: 12, stream: true,
    stream_options: { include_usage: true },
  }));
  assert.equal(chunks[0].object, 'chat.completion.chunk');
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.deepEqual(last.usage, r.usage);
  const body = chunks.slice(0, -1);
  assert.equal(body.map((c) => c.choices[0].delta.content ?? '').join(''), choice.message.content);
  assert.deepEqual(body.map((c) => c.choices[0].finish_reason).filter((f) => f != null), ['length']);
});

test('chat: n=3 with a seed gives three reproducible choices, streamed or not', async () => {
  const req = { model: 'builtin', messages: MESSAGES, n: 3, seed: 1234, temperature: 1, max_completion_tokens: 10 };
  const r = await client.chat.completions.create(req);
  assert.equal(r.choices.length, 3);
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2]);
  for (const c of r.choices) {
    assert.equal(c.finish_reason, 'length');
    assert.equal(c.message.role, 'assistant');
  }
  const texts = r.choices.map((c) => c.message.content);
  assert.ok(new Set(texts).size >= 2, `three samples all equal: ${JSON.stringify(texts)}`);
  assert.equal(r.usage.completion_tokens, 30);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 30);

  const again = await client.chat.completions.create(req);
  assert.deepEqual(again.choices.map((c) => c.message.content), texts, 'same seed, same samples');

  const chunks = await collect(await client.chat.completions.create({ ...req, stream: true }));
  const streamed = ['', '', ''];
  const finished = [0, 0, 0];
  for (const c of chunks) {
    for (const ch of c.choices) {
      streamed[ch.index] += ch.delta.content ?? '';
      if (ch.finish_reason != null) finished[ch.index] += 1;
    }
  }
  assert.deepEqual(streamed, texts);
  assert.deepEqual(finished, [1, 1, 1]);
});

test('usage counts the prompt once however many choices (n), as OpenAI and vLLM', async () => {
  const chatPrompt = await tokenCount({ messages: MESSAGES });
  const chat = await client.chat.completions.create({
    model: 'builtin', messages: MESSAGES, n: 3, seed: 7, temperature: 1, max_completion_tokens: 5 });
  assert.deepEqual(chat.usage, { prompt_tokens: chatPrompt, completion_tokens: 15, total_tokens: chatPrompt + 15 });
  const textPrompt = await tokenCount({ prompt: PROMPT });
  const cmpl = await client.completions.create({ model: 'builtin', prompt: PROMPT, n: 2, seed: 7, max_tokens: 5 });
  assert.deepEqual(cmpl.usage, { prompt_tokens: textPrompt, completion_tokens: 10, total_tokens: textPrompt + 10 });
  // Two prompts: each counted once.
  const two = await client.completions.create({ model: 'builtin', prompt: [PROMPT, PROMPT], n: 2, seed: 7, max_tokens: 5 });
  assert.equal(two.choices.length, 4);
  assert.deepEqual(two.usage, { prompt_tokens: 2 * textPrompt, completion_tokens: 20, total_tokens: 2 * textPrompt + 20 });
});

test('chat: stop strings', async () => {
  const whole = await client.chat.completions.create({
    model: 'builtin', messages: MESSAGES, temperature: 0, max_completion_tokens: 32 });
  const text = whole.choices[0].message.content;
  const word = text.split(/\W+/).filter((w) => w.length >= 3).find((w) => text.indexOf(w) > 4);
  assert.ok(word, `no usable stop word in ${JSON.stringify(text)}`);
  const r = await client.chat.completions.create({
    model: 'builtin', messages: MESSAGES, temperature: 0, max_completion_tokens: 32, stop: [word] });
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.ok(!r.choices[0].message.content.includes(word));
  assert.equal(r.choices[0].message.content, text.slice(0, text.indexOf(word)));

  const chunks = await collect(await client.chat.completions.create({
    model: 'builtin', messages: MESSAGES, temperature: 0, max_completion_tokens: 32, stop: [word], stream: true }));
  assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), r.choices[0].message.content);
  assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
});

test('chat: logprobs with top_logprobs', async () => {
  const r = await client.chat.completions.create({
    model: 'builtin', messages: MESSAGES, temperature: 0, max_completion_tokens: 8, logprobs: true, top_logprobs: 3 });
  const choice = r.choices[0];
  assert.ok(choice.logprobs, 'choices[0].logprobs is set');
  const content = choice.logprobs.content;
  assert.ok(Array.isArray(content), 'logprobs.content is a list');
  assert.equal(content.length, r.usage.completion_tokens);
  assert.equal(content.length, 8);
  for (const e of content) {
    assert.equal(typeof e.token, 'string');
    assert.equal(typeof e.logprob, 'number');
    assert.ok(e.logprob <= 0, `logprob ${e.logprob}`);
    assertBytes(e);
    assert.equal(e.top_logprobs.length, 3);
    for (const t of e.top_logprobs) {
      assert.deepEqual(Object.keys(t).sort(), ['bytes', 'logprob', 'token']);
      assert.ok(t.logprob <= 0);
      assertBytes(t);
    }
    const best = Math.max(...e.top_logprobs.map((t) => t.logprob));
    assert.ok(Math.abs(e.logprob - best) < 1e-6, `greedy token ${e.logprob} vs best ${best}`);
    assert.equal(e.top_logprobs[0].token, e.token);
    for (let i = 1; i < 3; ++i) assert.ok(e.top_logprobs[i - 1].logprob >= e.top_logprobs[i].logprob, 'sorted');
  }
  if (/^[\x20-\x7e\n]*$/.test(choice.message.content)) {
    assert.equal(content.map((e) => e.token).join(''), choice.message.content);
  }

  // Streaming gives the same entries, chunk by chunk.
  const chunks = await collect(await client.chat.completions.create({
    model: 'builtin', messages: MESSAGES, temperature: 0, max_completion_tokens: 8, logprobs: true, top_logprobs: 3,
    stream: true }));
  const streamed = chunks.flatMap((c) => c.choices[0]?.logprobs?.content ?? []);
  assert.deepEqual(streamed.map((e) => e.token), content.map((e) => e.token));
  for (let i = 0; i < streamed.length; ++i) assert.ok(Math.abs(streamed[i].logprob - content[i].logprob) < 1e-5);

  // Without logprobs: null.
  const none = await client.chat.completions.create({ model: 'builtin', messages: MESSAGES, max_completion_tokens: 2 });
  assert.equal(none.choices[0].logprobs, null);
});

test('completions: logprobs (tokens, token_logprobs, top_logprobs, text_offset)', async () => {
  const r = await client.completions.create({ model: 'builtin', prompt: PROMPT, max_tokens: 8, temperature: 0, logprobs: 2 });
  const c = r.choices[0];
  const lp = c.logprobs;
  assert.ok(lp, 'choices[0].logprobs is set');
  assert.equal(lp.tokens.length, 8);
  assert.equal(lp.token_logprobs.length, 8);
  assert.equal(lp.top_logprobs.length, 8);
  assert.equal(lp.text_offset.length, 8);
  for (let i = 0; i < 8; ++i) {
    assert.equal(typeof lp.tokens[i], 'string');
    assert.ok(lp.token_logprobs[i] <= 0);
    const top = lp.top_logprobs[i];
    const n = Object.keys(top).length;
    assert.ok(n >= 2 && n <= 3, `top_logprobs[${i}] has ${n} entries (2, or 3 with the sampled token)`);
    const best = Math.max(...Object.values(top));
    assert.ok(Math.abs(lp.token_logprobs[i] - best) < 1e-6, 'greedy: the chosen token is the most likely');
    assert.ok(Math.abs(top[lp.tokens[i]] - lp.token_logprobs[i]) < 1e-6, 'the chosen token is among top_logprobs');
  }
  if (/^[\x20-\x7e\n]*$/.test(c.text)) {
    assert.equal(lp.tokens.join(''), c.text);
    for (let i = 0; i < 8; ++i) assert.equal(lp.text_offset[i], lp.tokens.slice(0, i).join('').length);
  }

  // echo: the prompt's tokens come first, the first without a log-probability.
  const promptTokens = await tokenCount({ prompt: PROMPT });
  const e = await client.completions.create({
    model: 'builtin', prompt: PROMPT, max_tokens: 8, temperature: 0, logprobs: 2, echo: true });
  const el = e.choices[0].logprobs;
  assert.equal(e.choices[0].text, PROMPT + c.text);
  assert.equal(el.tokens.length, promptTokens + 8);
  assert.equal(el.token_logprobs[0], null);
  assert.equal(el.top_logprobs[0], null);
  for (let i = 1; i < el.tokens.length; ++i) assert.ok(el.token_logprobs[i] <= 0, `token_logprobs[${i}]`);
  assert.equal(el.tokens.slice(0, promptTokens).join(''), PROMPT);
  assert.deepEqual(el.tokens.slice(promptTokens), lp.tokens);
  assert.equal(el.text_offset[0], 0);

  // Streamed, the same tokens arrive chunk by chunk.
  const chunks = await collect(await client.completions.create({
    model: 'builtin', prompt: PROMPT, max_tokens: 8, temperature: 0, logprobs: 2, stream: true }));
  const streamed = chunks.flatMap((ch) => ch.choices[0]?.logprobs?.tokens ?? []);
  assert.deepEqual(streamed, lp.tokens);
});

test('completions: echo without logprobs returns the prompt and the completion', async () => {
  const plain = await client.completions.create({ model: 'builtin', prompt: PROMPT, max_tokens: 8, temperature: 0 });
  const e = await client.completions.create({ model: 'builtin', prompt: PROMPT, max_tokens: 8, temperature: 0, echo: true });
  assert.equal(e.choices[0].text, PROMPT + plain.choices[0].text);
  assert.equal(e.choices[0].logprobs, null);
});

test('errors: 401 for a wrong or missing key', async () => {
  const wrong = server.client({ apiKey: 'not-the-key' });
  const err = await rejectsWith(wrong.models.list(), OpenAI.AuthenticationError, 401);
  assert.equal(err.type, 'AuthenticationError');
  await rejectsWith(wrong.completions.create({ model: 'builtin', prompt: PROMPT, max_tokens: 2 }),
                    OpenAI.AuthenticationError, 401);
  const r = await fetch(`${server.baseURL}/models`);
  assert.equal(r.status, 401);
  assert.ok(isErrorBody(await r.json()));
  // Routes outside /v1 need no key.
  assert.equal((await fetch(`${server.origin}/health`)).status, 200);
});

test('errors: 404 for an unknown model', async () => {
  const err = await rejectsWith(
    client.completions.create({ model: 'no-such-model', prompt: PROMPT, max_tokens: 2 }), OpenAI.NotFoundError, 404);
  assert.match(err.error.message, /The model `no-such-model` does not exist/);
  await rejectsWith(client.chat.completions.create({ model: 'no-such-model', messages: MESSAGES, max_tokens: 2 }),
                    OpenAI.NotFoundError, 404);
});

test('errors: 400 for an invalid parameter names the parameter', async () => {
  let err = await rejectsWith(
    client.completions.create({ model: 'builtin', prompt: PROMPT, max_tokens: 4, temperature: -1 }),
    OpenAI.BadRequestError, 400);
  assert.match(err.error.message, /temperature/);
  err = await rejectsWith(
    client.chat.completions.create({ model: 'builtin', messages: MESSAGES, max_completion_tokens: 4, top_p: 7 }),
    OpenAI.BadRequestError, 400);
  assert.match(err.error.message, /top_p/);
  err = await rejectsWith(client.completions.create({ model: 'builtin', prompt: PROMPT, max_tokens: 0 }),
                          OpenAI.BadRequestError, 400);
  assert.match(err.error.message, /max_tokens/);
  err = await rejectsWith(client.chat.completions.create({ model: 'builtin', messages: [], max_tokens: 4 }),
                          OpenAI.BadRequestError, 400);
  assert.match(err.error.message, /messages/);
});

test('errors: 400 when the prompt does not fit the context', async () => {
  const prompt = 'And God said, Let there be light: and there was light. '.repeat(60);
  const count = await tokenCount({ prompt });
  assert.ok(count > server.maxModelLen);
  let err = await rejectsWith(client.completions.create({ model: 'builtin', prompt, max_tokens: 4 }),
                              OpenAI.BadRequestError, 400);
  assert.ok(err.error.message.includes(String(server.maxModelLen)), err.error.message);
  assert.ok(err.error.message.includes(String(count)), err.error.message);
  // Prompt + max_tokens beyond the context is the same error (vLLM).
  err = await rejectsWith(client.completions.create({ model: 'builtin', prompt: PROMPT, max_tokens: server.maxModelLen }),
                          OpenAI.BadRequestError, 400);
  assert.ok(err.error.message.includes(String(server.maxModelLen)), err.error.message);
  err = await rejectsWith(
    client.chat.completions.create({ model: 'builtin', messages: [{ role: 'user', content: prompt }], max_tokens: 4 }),
    OpenAI.BadRequestError, 400);
  assert.ok(err.error.message.includes(String(server.maxModelLen)), err.error.message);
});

test('errors: 413 for a body over the server limit', async () => {
  const huge = JSON.stringify({ model: 'builtin', prompt: 'a'.repeat(40 << 20), max_tokens: 1 });
  const r = await server.post('/v1/completions', huge);
  assert.equal(r.status, 413);
  assert.ok(isErrorBody(r.body), r.text);
  // The SDK has no class of its own for 413: a plain APIError with the status.
  await rejectsWith(client.completions.create({ model: 'builtin', prompt: 'a'.repeat(40 << 20), max_tokens: 1 }),
                    OpenAI.APIError, 413);
  assert.equal((await fetch(`${server.origin}/health`)).status, 200);
});

test('errors: unknown routes are 404 with an error body', async () => {
  for (const path of ['/v1/nope', '/nope']) {
    const r = await server.get(path);
    assert.equal(r.status, 404, path);
    assert.ok(isErrorBody(r.body), r.text);
    assert.match(r.body.error.message, /nope/);
  }
});

test('errors: 503 beyond --max-queued-requests (no retry)', async () => {
  const small = await startServer(['--max-queued-requests', '1', '--max-num-seqs', '1']);
  try {
    const c = small.client({ maxRetries: 0 });
    const results = await Promise.allSettled(Array.from({ length: 8 }, () =>
      c.completions.create({ model: 'builtin', prompt: PROMPT, max_tokens: 400, temperature: 0 })));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
    assert.ok(ok.length >= 1, `some request is served (${rejected.map((e) => e.message).join('; ')})`);
    for (const r of ok) assert.equal(r.value.usage.completion_tokens, 400);
    assert.ok(rejected.length >= 1, 'at least one request is refused');
    for (const e of rejected) {
      assert.ok(e instanceof OpenAI.InternalServerError, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.status, 503);
      assert.equal(typeof e.error?.message, 'string');
      assert.ok(e.error.message.length > 0);
    }
    // Once the queue drains requests are served again.
    const after = await c.completions.create({ model: 'builtin', prompt: PROMPT, max_tokens: 4, temperature: 0 });
    assert.equal(after.usage.completion_tokens, 4);
  } finally {
    const exit = await small.stop().catch((e) => e);
    assert.deepEqual(exit, { code: 0, signal: null });
  }
});

test('SIGTERM stops the server with exit code 0', async () => {
  // Ensure something ran through the engine and the server is idle.
  assert.equal((await fetch(`${server.origin}/health`)).status, 200);
  const t0 = Date.now();
  const exit = await server.stop(10000);
  assert.deepEqual(exit, { code: 0, signal: null }, server.stderr());
  console.log(`# server exited ${Date.now() - t0} ms after SIGTERM`);
});
