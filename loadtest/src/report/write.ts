/**
 * Writing a run's outputs into a folder: results.json (the LoadTestResult), report.md, the four
 * SVG charts and timings.jsonl (one RequestTiming per line, for re-analysis).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadTestResult } from '../result.ts';
import type { RequestTiming } from '../run/timing.ts';
import { chartFiles, type NamedRun } from './charts.ts';
import { renderReport } from './markdown.ts';

export async function writeFiles(dir: string, files: Record<string, string>): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  await Promise.all(Object.entries(files).map(([name, text]) => writeFile(join(dir, name), text)));
  return Object.keys(files).map((name) => join(dir, name));
}

export async function writeRun(dir: string, result: LoadTestResult, timings: readonly RequestTiming[]): Promise<string[]> {
  const run: NamedRun = { name: result.workload.name, timings, timeline: result.timeline };
  return writeFiles(dir, {
    'results.json': JSON.stringify(result, null, 2) + '\n',
    'report.md': renderReport(result),
    'timings.jsonl': timings.map((t) => JSON.stringify(t)).join('\n') + (timings.length ? '\n' : ''),
    ...chartFiles([run]),
  });
}
