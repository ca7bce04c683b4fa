/** The simulator's event queue: earliest first, ties in scheduling order (determinism rests on it). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventQueue, Rng } from '../src/index.ts';

describe('sim event queue', () => {
  test('pops by time; equal times in the order they were pushed', () => {
    const q = new EventQueue<string>();
    q.push(5, 'c');
    q.push(1, 'a');
    q.push(5, 'd');
    q.push(3, 'b');
    q.push(5, 'e');
    assert.equal(q.peekTime(), 1);
    const out: string[] = [];
    for (let e = q.pop(); e; e = q.pop()) out.push(`${e.at}${e.item}`);
    assert.deepEqual(out, ['1a', '3b', '5c', '5d', '5e']);
    assert.equal(q.size, 0);
    assert.equal(q.peekTime(), Infinity);
  });

  test('10,000 random pushes interleaved with pops come out sorted, ties stable', () => {
    const rng = new Rng(1, 2);
    const q = new EventQueue<number>();
    const popped: Array<[number, number]> = [];
    let n = 0;
    for (let i = 0; i < 10_000; i++) {
      q.push(rng.int(100), n++);
      if (rng.next() < 0.3) popped.push(Object.values(q.pop()!) as [number, number]);
    }
    const rest: Array<[number, number]> = [];
    for (let e = q.pop(); e; e = q.pop()) rest.push([e.at, e.item]);
    for (let i = 1; i < rest.length; i++) {
      const [a, b] = [rest[i - 1], rest[i]];
      assert.ok(a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]), `${a.join(",")} before ${b.join(",")}`);
    }
    assert.equal(popped.length + rest.length, 10_000);
  });

  test('refuses a time that is not finite', () => {
    assert.throws(() => new EventQueue<number>().push(NaN, 1), /finite/);
  });
});
