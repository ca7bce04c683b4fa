/**
 * A hand-written fake of an OpenAI-compatible server for client, CLI and comparison tests: GET
 * /v1/models and streaming POST /v1/completions with token-id prompts. It has a prefix cache with
 * unlimited room (full 16-token blocks, chained), so `cached_tokens` is what a perfect cache
 * would report. Behaviour switches make it answer with an HTTP error, an error event mid-stream,
 * or stall.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeOptions {
  model?: string;
  maxModelLen?: number;
  /** ms between tokens. */
  tokenDelayMs?: number;
  /** Decide per request (by its 0-based index) how to misbehave. */
  behave?(index: number): 'ok' | 'http503' | 'stream-error' | 'stall' | 'no-done';
}

export interface FakeServer {
  url: string;
  /** Bodies received, in order. */
  bodies: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

const BLOCK = 16;

function cachedTokens(cache: Set<string>, prompt: number[]): number {
  let key = '';
  let cached = 0;
  let miss = false;
  for (let at = 0; at + BLOCK <= prompt.length; at += BLOCK) {
    key += `|${prompt.slice(at, at + BLOCK).join(',')}`;
    if (!miss && cache.has(key)) cached += BLOCK;
    else miss = true;
    cache.add(key);
  }
  return cached;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const c of req) text += String(c);
  return JSON.parse(text) as Record<string, unknown>;
}

export async function startFakeServer(o: FakeOptions = {}): Promise<FakeServer> {
  const model = o.model ?? 'fake-model';
  const cache = new Set<string>();
  const bodies: Array<Record<string, unknown>> = [];
  const send = (res: ServerResponse, obj: unknown): boolean => res.write(`data: ${JSON.stringify(obj)}\n\n`);

  const completions = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readJson(req);
    const index = bodies.push(body) - 1;
    const how = o.behave?.(index) ?? 'ok';
    if (how === 'http503') {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'no decode capacity', type: 'service_unavailable_error', param: null, code: 'no_capacity' } }));
      return;
    }
    const prompt = body.prompt as number[];
    const max = body.max_tokens as number;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const env = { id: `cmpl-${index}`, object: 'text_completion', created: 0, model };
    if (how === 'stall') return; // never answers; the client's timeout ends it
    for (let i = 0; i < max; i++) {
      await sleep(o.tokenDelayMs ?? 1);
      send(res, { ...env, choices: [{ index: 0, text: ` t${i}`, logprobs: null, finish_reason: null }], usage: null });
      if (how === 'stream-error' && i === 0) {
        send(res, { error: { message: 'worker died', type: 'server_error', param: null, code: 'backend_error' } });
        res.end();
        return;
      }
    }
    send(res, { ...env, choices: [{ index: 0, text: '', logprobs: null, finish_reason: 'length' }], usage: null });
    const cached = cachedTokens(cache, prompt);
    send(res, { ...env, choices: [], usage: { prompt_tokens: prompt.length, completion_tokens: max, total_tokens: prompt.length + max, prompt_tokens_details: { cached_tokens: cached } } });
    res.end(how === 'no-done' ? '' : 'data: [DONE]\n\n');
  };

  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: model, object: 'model', created: 0, owned_by: 'fake', max_model_len: o.maxModelLen ?? 2048 }] }));
    } else if (req.method === 'POST' && req.url === '/v1/completions') {
      completions(req, res).catch((err: unknown) => res.destroy(err instanceof Error ? err : new Error(String(err))));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
