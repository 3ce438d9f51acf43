// Shared helpers of the end-to-end tests: the loom binary, the official `openai` SDK (installed in
// tools/testdata by scripts/deps.sh), and a real `loom serve` child process on a loopback port.
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';

// ctest passes the binary as LOOM_BINARY ($<TARGET_FILE:loom>); by hand: LOOM_BINARY=build/loom node --test ...
export const LOOM = process.env.LOOM_BINARY;
if (!LOOM) throw new Error('set LOOM_BINARY to the loom executable');
try {
  accessSync(LOOM, constants.X_OK);
} catch {
  throw new Error(`LOOM_BINARY=${LOOM} is not an executable (build the loom target first)`);
}

const requireTestdata = createRequire(new URL('../../tools/testdata/package.json', import.meta.url));
let sdk;
try {
  sdk = requireTestdata('openai');
} catch (e) {
  throw new Error(`the openai SDK is missing from tools/testdata/node_modules: run 'make deps' (${e.message})`);
}
export const OpenAI = sdk.OpenAI;

export const API_KEY = 'e2e-secret-key';

// Compute threads of the servers under test. One by default: the model is tiny, and on a shared
// 2-core machine (ctest -j2, a build next door) OpenMP barriers of an oversubscribed pool cost far
// more than they gain. LOOM_E2E_THREADS=0 uses every core.
const THREADS = process.env.LOOM_E2E_THREADS ?? '1';

// Starts `loom serve` on 127.0.0.1 with a free port; resolves once it prints its
// "loom serving NAME (max_model_len N) on http://HOST:PORT/v1" line.
export async function startServer(extraArgs = [], { readyTimeoutMs = 30000 } = {}) {
  const threads = extraArgs.includes('--threads') ? [] : ['--threads', THREADS];
  const args = ['serve', '--port', '0', '--host', '127.0.0.1', '--api-key', API_KEY, ...threads, ...extraArgs];
  const proc = spawn(LOOM, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { stderr += d; });
  proc.stdout.setEncoding('utf8');
  const exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
    proc.once('error', (e) => resolve({ code: null, signal: null, error: e.message }));  // could not spawn
  });
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`loom serve printed no ready line within ${readyTimeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, readyTimeoutMs);
    proc.stdout.on('data', (d) => {
      stdout += d;
      const m = /^loom serving (\S+) \(max_model_len (\d+)\) on http:\/\/127\.0\.0\.1:(\d+)\/v1$/m.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve({ model: m[1], maxModelLen: Number(m[2]), port: Number(m[3]) });
      }
    });
    exited.then(({ code, signal, error }) => {
      clearTimeout(timer);
      reject(new Error(`loom ${args.join(' ')} ${error ?? `exited (code ${code}, signal ${signal})`} before it was ready\n` +
                       `stdout: ${stdout}\nstderr: ${stderr}`));
    });
  });
  const origin = `http://127.0.0.1:${ready.port}`;
  return {
    ...ready,
    proc,
    origin,
    baseURL: `${origin}/v1`,
    stderr: () => stderr,
    client(options = {}) {
      return new OpenAI({ baseURL: `${origin}/v1`, apiKey: API_KEY, maxRetries: 0, timeout: 60000, ...options });
    },
    // POST a JSON value (or a raw string / bytes) with the key; resolves {status, body, text}.
    async post(path, body, { headers = {}, signal } = {}) {
      const raw = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
      const res = await fetch(origin + path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}`, ...headers },
        body: raw,
        signal,
      });
      return parseResponse(res);
    },
    async get(path, { headers = {} } = {}) {
      const res = await fetch(origin + path, { headers: { Authorization: `Bearer ${API_KEY}`, ...headers } });
      return parseResponse(res);
    },
    // SIGTERM, then the exit status (or a timeout error after graceMs, killing the process).
    async stop(graceMs = 10000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill('SIGTERM');
      let timer;
      const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), graceMs); });
      const result = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (result === null) {
        proc.kill('SIGKILL');
        await exited;
        throw new Error(`loom serve did not exit within ${graceMs} ms of SIGTERM\nstderr: ${stderr}`);
      }
      return result;
    },
    // For after() hooks: make sure nothing is left running whatever the tests did.
    kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}

async function parseResponse(res) {
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

// What `loom generate` (the offline engine, no server) prints for a prompt, parsed from --json.
export async function generateOffline(prompt, maxTokens, extraArgs = []) {
  const { stdout } = await promisify(execFile)(
    LOOM, ['generate', '--prompt', prompt, '--max-tokens', String(maxTokens), '--json', ...extraArgs]);
  return JSON.parse(stdout);
}

// An OpenAI error body: {"error": {"message": string, "type": string, "param", "code"}}.
export function isErrorBody(body) {
  return body !== null && typeof body === 'object' && body.error !== null && typeof body.error === 'object' &&
         typeof body.error.message === 'string' && body.error.message.length > 0 && typeof body.error.type === 'string';
}

// Prometheus text -> {name: value} for the lines "name{labels} value".
export function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m) out[m[1]] = Number(m[3]);
  }
  return out;
}
