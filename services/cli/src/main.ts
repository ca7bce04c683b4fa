/**
 * `duet` — the command line. Subcommands:
 *   duet model create --arch llama|moe --preset tiny|small|bench --seed N --out DIR [--dtype f32|f16|bf16]
 *   duet generate --model DIR (--prompt TEXT | --prompt-ids 1,2,3) --max-tokens N [sampling] [--json]
 *   duet demo [--model DIR] [--backend wasm|cpu]       (a one-process chat on the engine)
 *   duet start [--port P] [--model DIR] [--prefill N] [--decode M] [--transport nats|tcp]  (the platform)
 *   duet loadtest --url URL --workload NAME [...] [--out DIR] [--json]  (load test; `compare` side by side)
 *   duet operator [--kubeconfig FILE] [--watch-namespace NS] […]         (the Kubernetes operator)
 *   duet simulate --trace FILE|NAME --prefill N --decode M [...]          (cluster simulation; `fit` a cost model)
 * Returns the process exit code; usage errors print one line and the usage, exit 2.
 */
import { CliUsageError } from './args.ts';
import { modelCreate } from './commands/model-create.ts';
import { generate } from './commands/generate.ts';
import { demo } from './commands/demo.ts';
import { start } from './commands/start.ts';
import { loadtest } from './commands/loadtest.ts';
import { operator } from './commands/operator.ts';
import { simulateCommand } from './commands/simulate.ts';

export const USAGE = `usage:
  duet model create --arch llama|moe --preset tiny|small|bench --seed N --out DIR [--dtype f32|f16|bf16] [--max-shard-mib M]
  duet generate --model DIR (--prompt TEXT | --prompt-ids 1,2,3) --max-tokens N
                [--temperature T] [--top-p P] [--top-k K] [--seed S] [--chat] [--logprobs N]
                [--backend wasm|cpu|tensorflow] [--json]
  duet demo [--model DIR] [--backend wasm|cpu|tensorflow] [--max-tokens N]
  duet start [--port 8080] [--host 127.0.0.1] [--model DIR] [--prefill 1] [--decode 1] [--transport nats|tcp]
             [--backend wasm|cpu|tensorflow] [--kv-cache-mib 128] [--threads auto|N] [--redis]
             [--ready-timeout-s 180] [--policy round-robin|least-load|prefix-load|prefix-load-expert|lowest-cost|FILE]
             [--autoscale [--scaling-policy FILE]]   (grow/shrink worker processes; drains before removing)
  duet loadtest --url URL --workload mooncake|azure|shared-prefix|multi-turn|moe-domains [--trace FILE]
                [--rate R | --speed S | --burst N [--burst-interval-ms I] | --concurrency C] [--requests N]
                [--model ID] [--model-dir DIR] [--slo-ttft-ms 2000] [--slo-tpot-ms 200] [--out DIR] [--json]
                (all options: docs/loadtest.md)
  duet loadtest compare --modes aggregated,disaggregated | --policies P1,P2 [--prefill 1] [--decode 1]
                [--model-dir DIR] [--warmup 4] --workload NAME [...] --out DIR [--json]
  duet operator [--kubeconfig FILE] [--watch-namespace NS] [--leader-elect true|false] [--lease-name N]
                [--metrics-port 9090] [--autoscale true|false]   (the Kubernetes operator; docs/operations.md)
  duet simulate (--trace FILE|NAME [--native] | --workload NAME [...]) --prefill N --decode M [--policy FILE|NAME]
                [--scaling-policy FILE] [--seed S] [--cost-model FILE] [--rate R | --speed S | --burst N | --concurrency C]
                [--requests N] [--json] [--out DIR]   (cluster simulation; docs/loadtest.md "Simulator")
  duet simulate fit --engine FILE [--kv-transfer FILE] [--preset NAME | --model-dir DIR] [--transport nats|tcp] --out FILE`;

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
      case 'loadtest':
        return await loadtest(rest);
      case 'operator':
        return await operator(rest);
      case 'simulate':
        return await simulateCommand(rest);
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
