/** A gateway over a LocalEngineBackend on a tiny generated model, listening on 127.0.0.1:0. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import OpenAI from 'openai';
import { createLogger, createRegistry } from '@duet/core';
import { createModel, Engine, EngineLoop, loadModel, type Architecture } from '@duet/engine';
import { createGatewayApp, LocalEngineBackend, loadServedModel, type ServedModel } from '../src/index.ts';

export const BLOCK_SIZE = 4;

export interface Harness {
  url: string;
  client: OpenAI;
  model: ServedModel;
  engine: Engine;
  loop: EngineLoop;
  close(): Promise<void>;
}

export interface HarnessOptions {
  arch?: Architecture;
  apiKeys?: Map<string, string>;
  bodyLimitBytes?: number;
  requestTimeoutMs?: number;
}

/** Engine settings shared by the gateway's engine and the reference `Engine.generate` runs. */
export const ENGINE_OPTS = { numKvBlocks: 512, blockSize: BLOCK_SIZE };

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'duet-gw-'));
  const outDir = join(dir, `tiny-${opts.arch ?? 'llama'}`);
  await createModel({ arch: opts.arch ?? 'llama', preset: 'tiny', seed: 11, outDir });
  const model = await loadServedModel({ dir: outDir }, BLOCK_SIZE);
  const engine = await Engine.create(await loadModel(outDir), ENGINE_OPTS);
  const loop = new EngineLoop(engine);
  const backend = new LocalEngineBackend(new Map([[model.id, loop]]));
  const { app } = createGatewayApp({
    backend,
    models: new Map([[model.id, model]]),
    apiKeys: opts.apiKeys,
    bodyLimitBytes: opts.bodyLimitBytes,
    requestTimeoutMs: opts.requestTimeoutMs,
    logger: createLogger('gateway', { level: 'silent' }),
    registry: createRegistry('gateway', { defaultMetrics: false }),
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: opts.apiKeys ? [...opts.apiKeys.keys()][0] : 'none', maxRetries: 0 });
  return {
    url,
    client,
    model,
    engine,
    loop,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What one engine gives for the same prompt ids and parameters (the ground truth). */
export async function referenceTokens(
  h: Harness,
  promptIds: number[],
  sampling: { temperature: number; seed?: number; maxTokens: number; topP?: number },
): Promise<number[]> {
  const engine = await Engine.create(await loadModel(h.model.dir), ENGINE_OPTS);
  const out = engine.generate({ id: 'ref', promptIds, sampling: { ...sampling, stopTokenIds: [...h.model.tokenizer.eosTokenIds] }, ignoreEos: true });
  return out.newTokens.map((t) => t.id);
}

export function chatPromptIds(model: ServedModel, content: string): number[] {
  return model.tokenizer.encode(model.tokenizer.applyChatTemplate([{ role: 'user', content }], { addGenerationPrompt: true }), { addSpecialTokens: false });
}
