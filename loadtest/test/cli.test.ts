/** `duet loadtest` flag errors, as a user meets them: one line naming the flag, the usage, exit 2. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../services/cli/bin/duet.js', import.meta.url));

function duet(...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 30_000 }, (err, _stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stderr }));
  });
}

describe('duet loadtest flags', () => {
  test('two arrival processes, an unknown workload, a missing --url', async () => {
    const two = await duet('loadtest', '--url', 'http://127.0.0.1:1', '--workload', 'shared-prefix', '--rate', '1', '--concurrency', '2');
    assert.equal(two.code, 2);
    assert.match(two.stderr, /duet: give one arrival process, not --rate and --concurrency/);
    assert.match(two.stderr, /duet loadtest compare/);
    const unknown = await duet('loadtest', '--url', 'http://127.0.0.1:1', '--workload', 'poetry');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--workload must be one of mooncake, azure, shared-prefix, multi-turn, moe-domains, got "poetry"/);
    assert.match((await duet('loadtest', '--workload', 'azure')).stderr, /--url is required/);
  });
});
