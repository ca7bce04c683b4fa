/** Loading a model folder into a ready engine + tokenizer, shared by `generate` and `demo`. */
import { Engine, loadModel, loadTokenizer, type BackendName, type DuetTokenizer, type EngineRequest, type SampledToken } from '@duet/engine';

export interface Runtime {
  engine: Engine;
  tokenizer: DuetTokenizer;
}

export async function loadRuntime(modelDir: string, backend: BackendName): Promise<Runtime> {
  // The model first: a folder that is not a model is reported by its config.json, deterministically.
  const model = await loadModel(modelDir);
  const tokenizer = await loadTokenizer(modelDir);
  const engine = await Engine.create(model, { backend });
  return { engine, tokenizer };
}

/**
 * Drives the engine until `req` finishes, calling `onToken` for each token as it is sampled.
 * Returns all tokens and the finish reason.
 */
export function runToCompletion(
  engine: Engine,
  req: EngineRequest,
  onToken: (t: SampledToken) => void = () => {},
): { tokens: SampledToken[]; finishReason: string | null } {
  engine.addRequest(req);
  const tokens: SampledToken[] = [];
  for (;;) {
    const r = engine.step();
    const mine = r.outputs.find((o) => o.id === req.id);
    for (const t of mine?.newTokens ?? []) {
      tokens.push(t);
      onToken(t);
    }
    if (mine?.finished) return { tokens, finishReason: mine.finishReason };
    if (r.scheduledTokens === 0) throw new Error(`engine stalled with request ${req.id} unfinished`);
  }
}
