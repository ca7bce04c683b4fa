/**
 * The container images (infra/Dockerfile.cpu, infra/Dockerfile.gpu) cannot be built here (no Docker
 * engine), so this checks what can go wrong without building: every path they COPY exists and is
 * not filtered out of the build context; every workspace manifest reaches `npm ci`; the stages end
 * non-root on the shared entry point; each role the entry point knows maps to a file that exists;
 * and the chart names the same image, flavors, entry point roles and demo-model path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from './chart-helm.ts';
import { duetServiceSpec, firstContainer, renderChart } from './chart-render.ts';

const FLAVORS = ['cpu', 'gpu'] as const;
const ENTRYPOINT = join(REPO_ROOT, 'infra', 'docker-entrypoint.sh');

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile → instructions (comments dropped, `\` continuations joined). */
function instructions(flavor: string): Instruction[] {
  const text = readFileSync(join(REPO_ROOT, 'infra', `Dockerfile.${flavor}`), 'utf8');
  const joined = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  return joined.map((l) => {
    const [op, ...rest] = l.split(/\s+/);
    return { op: op.toUpperCase(), args: rest.join(' ') };
  });
}

/** Sources of the COPY instructions that read the build context (not another stage). */
function contextCopies(flavor: string): string[] {
  return instructions(flavor)
    .filter((i) => i.op === 'COPY' && !i.args.includes('--from='))
    .flatMap((i) => i.args.split(/\s+/).filter((a) => !a.startsWith('--')).slice(0, -1));
}

function ignored(flavor: string): string[] {
  return readFileSync(join(REPO_ROOT, 'infra', `Dockerfile.${flavor}.dockerignore`), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** A minimal .dockerignore matcher: `**` any depth, `*` one segment. */
function isIgnored(path: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => {
    const re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '(.*/)?').replace(/\*/g, '[^/]*')}(/.*)?$`);
    return re.test(path);
  });
}

function workspaces(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };
  return pkg.workspaces.flatMap((w) =>
    w.endsWith('/*') ? readdirSync(join(REPO_ROOT, w.slice(0, -2))).map((d) => `${w.slice(0, -2)}/${d}`) : [w],
  ).filter((w) => existsSync(join(REPO_ROOT, w, 'package.json')));
}

function labels(flavor: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of instructions(flavor).filter((x) => x.op === 'LABEL')) for (const m of i.args.matchAll(/([\w.-]+)="([^"]*)"/g)) out[m[1]] = m[2];
  return out;
}

/** The last stage's instructions. */
function finalStage(flavor: string): Instruction[] {
  const all = instructions(flavor);
  const last = all.map((i) => i.op).lastIndexOf('FROM');
  return all.slice(last);
}

for (const flavor of FLAVORS) {
  test(`Dockerfile.${flavor}: every COPY source exists and is inside the build context`, () => {
    const sources = contextCopies(flavor);
    assert.ok(sources.length > 10);
    for (const src of sources) {
      assert.ok(existsSync(join(REPO_ROOT, src)), `${src} does not exist`);
      assert.ok(!isIgnored(src, ignored(flavor)), `${src} is excluded by Dockerfile.${flavor}.dockerignore`);
    }
  });

  test(`Dockerfile.${flavor}: every workspace manifest is copied before npm ci`, () => {
    const sources = contextCopies(flavor);
    for (const ws of workspaces()) assert.ok(sources.includes(`${ws}/package.json`), `${ws}/package.json is not copied`);
    assert.ok(sources.includes('package-lock.json'));
    assert.ok(instructions(flavor).some((i) => i.op === 'RUN' && /npm ci --omit=dev/.test(i.args)));
  });

  test(`Dockerfile.${flavor}: multi-stage, ends non-root on the shared entry point`, () => {
    assert.ok(instructions(flavor).filter((i) => i.op === 'FROM').length >= 3);
    const last = finalStage(flavor);
    const user = last.find((i) => i.op === 'USER')?.args ?? '';
    assert.match(user, /^[1-9][0-9]*(:[0-9]+)?$/, 'a numeric non-root UID (runAsNonRoot needs one)');
    assert.equal(last.find((i) => i.op === 'ENTRYPOINT')?.args, '["/usr/local/bin/duet-entrypoint"]');
    assert.ok(instructions(flavor).some((i) => i.op === 'COPY' && i.args.startsWith('infra/docker-entrypoint.sh /usr/local/bin/duet-entrypoint')));
    assert.equal(labels(flavor)['dev.duet.flavor'], flavor);
  });
}

test('Dockerfile.cpu is Node 20; Dockerfile.gpu is CUDA with tfjs-node-gpu at the lockfile’s tfjs-core version', () => {
  assert.match(instructions('cpu').find((i) => i.op === 'ARG' && i.args.startsWith('NODE_IMAGE'))?.args ?? '', /^NODE_IMAGE=node:20/);
  const gpu = instructions('gpu');
  assert.match(gpu.find((i) => i.op === 'ARG' && i.args.startsWith('CUDA_IMAGE'))?.args ?? '', /^CUDA_IMAGE=nvidia\/cuda:[0-9.]+-cudnn[0-9]+-runtime/);
  assert.ok(gpu.some((i) => i.op === 'RUN' && /npm install .*"@tensorflow\/tfjs-node-gpu@\$\{TFJS_VERSION\}"/.test(i.args) && /tfjs-core\/package\.json/.test(i.args)));
  assert.ok(!/tfjs-node/.test(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')), 'tfjs-node(-gpu) stays out of the default dependency set');
});

// ── the entry point ─────────────────────────────────────────────────────────────────────────────

function dryRun(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('sh', [ENTRYPOINT, ...args], { encoding: 'utf8', env: { ...process.env, DUET_ENTRYPOINT_DRY_RUN: '1' } });
  return { status: r.status ?? -1, stdout: r.stdout.trim(), stderr: r.stderr };
}

const ROLES: Record<string, string> = {
  gateway: 'node --import tsx services/gateway/src/main.ts --port 8080',
  router: 'node --import tsx services/router/src/main.ts --port 8080',
  prefill: 'node --import tsx services/worker/src/main.ts --role prefill --port 8080',
  decode: 'node --import tsx services/worker/src/main.ts --role decode --port 8080',
  worker: 'node --import tsx services/worker/src/main.ts --port 8080',
  operator: 'node --import tsx operator/src/main.ts --port 8080',
  duet: 'node services/cli/bin/duet.js --port 8080',
};

test('the entry point maps each role to its program, passing the flags through', () => {
  for (const [role, expected] of Object.entries(ROLES)) {
    const r = dryRun([role, '--port', '8080']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, expected);
  }
  const bad = dryRun(['trainer']);
  assert.equal(bad.status, 64);
  assert.match(bad.stderr, /unknown role "trainer"/);
});

test('every program the entry point runs exists', () => {
  for (const cmd of Object.values(ROLES)) {
    const file = cmd.split(' ').find((p) => /\.(ts|js)$/.test(p));
    assert.ok(file && existsSync(join(REPO_ROOT, file)), `${file} does not exist`);
  }
});

// ── the chart names the same image ──────────────────────────────────────────────────────────────

test('the chart runs the images the Dockerfiles build, with roles the entry point knows', () => {
  const chart = parse(readFileSync(join(REPO_ROOT, 'charts', 'duet', 'Chart.yaml'), 'utf8')) as { appVersion: string };
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(chart.appVersion, pkg.version, 'image tags follow the package version');
  const values = parse(readFileSync(join(REPO_ROOT, 'charts', 'duet', 'values.yaml'), 'utf8')) as { image: { repository: string } };
  for (const flavor of FLAVORS) assert.equal(values.image.repository.split('/').pop(), labels(flavor)['dev.duet.image']);
  const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'charts', 'duet', 'values.schema.json'), 'utf8')) as { properties: { image: { properties: { flavor: { enum: string[] } } } } };
  assert.deepEqual(schema.properties.image.properties.flavor.enum, [...FLAVORS]);

  for (const flavor of FLAVORS) {
    const objs = renderChart({ image: { flavor } });
    const image = `duet:${chart.appVersion}-${flavor}`;
    const c = firstContainer(objs, 'duet-operator');
    assert.equal(c.image, image);
    assert.equal(c.command, undefined, 'the image entry point stays in charge');
    assert.ok(c.args[0] in ROLES, `role ${c.args[0]}`);
    assert.equal(duetServiceSpec(objs).image, image);
  }
});

test('the chart’s default model source is the demo model the images bake in', () => {
  const values = parse(readFileSync(join(REPO_ROOT, 'charts', 'duet', 'values.yaml'), 'utf8')) as { duetService: { model: { source: { type: string; image: { path: string } } } } };
  assert.equal(values.duetService.model.source.type, 'image');
  for (const flavor of FLAVORS) {
    const create = instructions(flavor).find((i) => i.op === 'RUN' && i.args.includes('model create'));
    assert.match(create?.args ?? '', new RegExp(`--out ${values.duetService.model.source.image.path}$`));
  }
});
