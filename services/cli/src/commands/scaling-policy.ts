/**
 * Reads a ScalingPolicy file for `duet start --autoscale` and `duet simulate`: YAML or JSON, either
 * the whole object with `spec` or the spec alone; no file → the default policy. Errors are usage
 * errors naming the file and the bad field's path. Imports only the planner (no Kubernetes client).
 */
import { readFile } from 'node:fs/promises';
import { parseScalingPolicySpec, type ScalingPolicySpec } from '@duet/operator/planner';
import { parse as parseYaml } from 'yaml';
import { CliUsageError } from '../args.ts';

export async function loadScalingPolicy(file: string | undefined): Promise<ScalingPolicySpec> {
  if (file === undefined) return parseScalingPolicySpec({});
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(file, 'utf8'));
  } catch (err) {
    throw new CliUsageError(`--scaling-policy ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const wrapped = doc !== null && typeof doc === 'object' && 'spec' in doc;
  try {
    return parseScalingPolicySpec(wrapped ? (doc as { spec: unknown }).spec : doc, { source: file, pathPrefix: wrapped ? 'spec' : '' });
  } catch (err) {
    throw new CliUsageError(err instanceof Error ? err.message : String(err));
  }
}
