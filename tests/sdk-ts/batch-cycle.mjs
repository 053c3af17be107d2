// The official OpenAI TypeScript SDK against OrleansLlm's Batch API, with nothing changed but baseURL and apiKey.
// OpenAiTypeScriptSdkTests starts the silos and runs this script; it says what it saw as one JSON line per step on
// stdout and exits 1 with the reason on stderr when anything is not as OpenAI's API reference says.
//
// Environment: OLM_BASE_URL (http://host:port/v1), OLM_API_KEY, OLM_INPUT (a batch input file, run to completion),
// OLM_CANCEL_INPUT (a larger one, cancelled mid-run), OLM_WEBHOOK_PORT and OLM_WEBHOOK_SECRET (the silos send their
// webhooks to this script), OLM_TIMEOUT_S (for each wait).
import fs from 'node:fs';
import http from 'node:http';
import OpenAI from 'openai';

const env = (name) => process.env[name] ?? fail(`${name} is not set`);
const timeoutMs = Number(process.env.OLM_TIMEOUT_S ?? '120') * 1000;

function fail(message) {
  throw new Error(message);
}

function say(step, figures) {
  console.log(JSON.stringify({ step, ...figures }));
}

async function until(what, check) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) fail(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const customIds = (path) =>
  fs.readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l).custom_id);

// Webhooks: every request the silos send, kept whole, answered 200.
const received = [];
const receiver = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    received.push({ body, headers: req.headers });
    res.writeHead(200).end();
  });
});
await new Promise((resolve) => receiver.listen(Number(env('OLM_WEBHOOK_PORT')), '127.0.0.1', resolve));

const client = new OpenAI({ baseURL: env('OLM_BASE_URL'), apiKey: env('OLM_API_KEY') });
const secret = env('OLM_WEBHOOK_SECRET');

async function webhookFor(batchId, type) {
  return until(`webhook ${type} for ${batchId}`, async () => {
    for (const { body, headers } of received) {
      const event = await client.webhooks.unwrap(body, headers, secret);
      if (event.type === type && event.data.id === batchId) return event;
    }
    return null;
  });
}

async function outputLines(fileId) {
  const text = await (await client.files.content(fileId)).text();
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

try {
  // 1. Upload, create, poll to completed, download: every custom_id once.
  const started = Date.now();
  const input = await client.files.create({ file: fs.createReadStream(env('OLM_INPUT')), purpose: 'batch' });
  say('uploaded', { file: input.id, bytes: input.bytes, purpose: input.purpose, ms: Date.now() - started });
  if (input.purpose !== 'batch' || input.object !== 'file') fail(`unexpected file object ${JSON.stringify(input)}`);

  let batch = await client.batches.create({
    input_file_id: input.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
    metadata: { job: 'sdk-ts' },
  });
  say('created', { batch: batch.id, status: batch.status });
  batch = await until('the batch to complete', async () => {
    const b = await client.batches.retrieve(batch.id);
    if (['failed', 'expired', 'cancelled'].includes(b.status)) fail(`batch ended ${b.status}: ${JSON.stringify(b.errors)}`);
    return b.status === 'completed' ? b : null;
  });
  const expected = customIds(env('OLM_INPUT'));
  const lines = await outputLines(batch.output_file_id);
  const seen = new Set(lines.map((l) => l.custom_id));
  if (lines.length !== expected.length || seen.size !== expected.length || !expected.every((id) => seen.has(id))) {
    fail(`output has ${lines.length} lines, ${seen.size} distinct custom_ids, for ${expected.length} requests`);
  }
  if (lines.some((l) => l.response?.status_code !== 200 || !l.response.body?.choices?.[0]?.message)) {
    fail('an output line is not a chat.completion response');
  }
  const counts = batch.request_counts;
  if (counts.total !== expected.length || counts.completed !== expected.length || counts.failed !== 0) {
    fail(`request_counts ${JSON.stringify(counts)}`);
  }
  if (batch.metadata?.job !== 'sdk-ts') fail(`metadata came back as ${JSON.stringify(batch.metadata)}`);
  say('completed', { batch: batch.id, lines: lines.length, usage: batch.usage, ms: Date.now() - started });

  // 2. Cancel a second batch mid-run: it keeps its partial output, and its counts say how much.
  const big = await client.files.create({ file: fs.createReadStream(env('OLM_CANCEL_INPUT')), purpose: 'batch' });
  let second = await client.batches.create({ input_file_id: big.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  await until('the second batch to be running with answers', async () => {
    const b = await client.batches.retrieve(second.id);
    return b.status === 'in_progress' && b.request_counts.completed > 0 ? b : null;
  });
  second = await client.batches.cancel(second.id);
  say('cancel', { batch: second.id, status: second.status });
  if (!['cancelling', 'cancelled'].includes(second.status)) fail(`cancel answered status ${second.status}`);
  second = await until('the second batch to be cancelled', async () => {
    const b = await client.batches.retrieve(second.id);
    return b.status === 'cancelled' ? b : null;
  });
  const total = customIds(env('OLM_CANCEL_INPUT')).length;
  const partial = second.output_file_id ? await outputLines(second.output_file_id) : [];
  const c = second.request_counts;
  if (c.total !== total || c.completed !== partial.length || partial.length === 0 || partial.length >= total) {
    fail(`cancelled batch: request_counts ${JSON.stringify(c)}, ${partial.length} output lines, ${total} requests`);
  }
  if (new Set(partial.map((l) => l.custom_id)).size !== partial.length) fail('the partial output repeats a custom_id');
  say('cancelled', { batch: second.id, completed: c.completed, total: c.total });

  // 3. The webhooks, checked with the SDK's own verifier.
  const done = await webhookFor(batch.id, 'batch.completed');
  const cancelled = await webhookFor(second.id, 'batch.cancelled');
  say('webhooks', { completed: done.id, cancelled: cancelled.id, received: received.length });
} finally {
  receiver.close();
}
