import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Subjects } from '@duet/core';
import { APT_PACKAGES, MissingBinaryError, RESERVED_PORTS, findBinary, freePort, uniqueId, uniqueKeyPrefix, uniqueSubjects } from '../src/index.ts';

void describe('per-test isolation helpers', () => {
  void it('uniqueSubjects gives a different valid prefix every time', () => {
    const many = Array.from({ length: 100 }, () => uniqueSubjects());
    assert.ok(many.every((s) => s instanceof Subjects && /^t[0-9a-f]{12}\.duet$/.test(s.prefix)));
    assert.equal(new Set(many.map((s) => s.prefix)).size, 100);
    assert.match(many[0].tokens('r1'), /^t[0-9a-f]{12}\.duet\.tokens\.r1$/);
  });

  void it('uniqueKeyPrefix and uniqueId differ every time', () => {
    const prefixes = new Set(Array.from({ length: 100 }, () => uniqueKeyPrefix()));
    assert.equal(prefixes.size, 100);
    assert.ok([...prefixes].every((p) => /^t[0-9a-f]{12}:duet:$/.test(p)));
    assert.match(uniqueId('req'), /^req-[0-9a-f]{12}$/);
    assert.notEqual(uniqueId(), uniqueId());
  });

  void it('freePort never hands out a reserved port, nor the same port twice', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    assert.equal(new Set(ports).size, 20);
    assert.ok(ports.every((p) => !RESERVED_PORTS.has(p)));
  });

  void it('findBinary searches the given PATH and names the apt package', () => {
    assert.throws(() => findBinary('redis-server', undefined, ''), (e: unknown) => {
      return e instanceof MissingBinaryError && e.aptPackage === APT_PACKAGES['redis-server'] && /empty PATH/.test(e.message);
    });
    assert.equal(findBinary('nats-server', '/bin/sh'), '/bin/sh');
  });
});
