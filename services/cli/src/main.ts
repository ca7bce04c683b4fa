/**
 * `duet` — the command line. Subcommands:
 *   duet model create --arch llama|moe --preset tiny|small|bench --seed N --out DIR [--dtype f32|f16|bf16]
 *   duet generate --model DIR (--prompt TEXT | --prompt-ids 1,2,3) --max-tokens N [sampling] [--json]
 *   duet demo [--model DIR] [--backend wasm|cpu]       (a one-process chat on the engine)
 *   duet start [--port P] [--model DIR] [--prefill N] [--decode M] [--transport nats|tcp]  (the platform)
 * Returns the process exit code; usage errors print one line and the usage, exit 2.
 */
import { CliUsageError } from './args.ts';
import { modelCreate } from './commands/model-create.ts';
import { generate } from './commands/generate.ts';
import { demo } from './commands/demo.ts';
import { start } from './commands/start.ts';

export const USAGE = `usage:
  duet model create --arch llama|moe --preset tiny|small|bench --seed N --out DIR [--dtype f32|f16|bf16] [--max-shard-mib M]
  duet generate --model DIR (--prompt TEXT | --prompt-ids 1,2,3) --max-tokens N
                [--temperature T] [--top-p P] [--top-k K] [--seed S] [--chat] [--logprobs N]
                [--backend wasm|cpu|tensorflow] [--json]
  duet demo [--model DIR] [--backend wasm|cpu|tensorflow] [--max-tokens N]
  duet start [--port 8080] [--host 127.0.0.1] [--model DIR] [--prefill 1] [--decode 1] [--transport nats|tcp]
             [--backend wasm|cpu|tensorflow] [--kv-cache-mib 128] [--redis] [--ready-timeout-s 180]`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'model':
        if (rest[0] !== 'create') throw new CliUsageError(`unknown model subcommand "${rest[0] ?? ''}"`);
        return await modelCreate(rest.slice(1));
      case 'generate':
        return await generate(rest);
      case 'demo':
        return await demo(rest);
      case 'start':
        return await start(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return 0;
      default:
        throw new CliUsageError(`unknown command "${cmd}"`);
    }
  } catch (err) {
    if (err instanceof CliUsageError) {
      console.error(`duet: ${err.message}\n${USAGE}`);
      return 2;
    }
    console.error(`duet: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
