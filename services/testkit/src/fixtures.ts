/**
 * Per-test isolation and node:test wiring. Servers may be shared by the tests of a file; subjects
 * and Redis keys never are: each test takes its own random prefix, so tests cannot see each other's
 * traffic even on one server.
 */
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { Subjects } from '@duet/core';
import { startNats, type NatsOptions, type NatsServer } from './nats.ts';
import { startRedis, type RedisOptions, type RedisServer } from './redis.ts';

/** 'label-<12 hex>', unique across processes for all practical purposes. */
export function uniqueId(label = 'id'): string {
  return `${label}-${randomBytes(6).toString('hex')}`;
}

/** Subjects under a random prefix, e.g. `t3f9a1c0d2b7e.duet.tokens.<id>`. */
export function uniqueSubjects(): Subjects {
  return new Subjects(`t${randomBytes(6).toString('hex')}.duet`);
}

/** A random Redis key prefix, e.g. `t3f9a1c0d2b7e:duet:` (pass as ioredis `keyPrefix`). */
export function uniqueKeyPrefix(): string {
  return `t${randomBytes(6).toString('hex')}:duet:`;
}

export interface WithServersOptions {
  /** Default true. */
  nats?: boolean | NatsOptions;
  /** Default false. */
  redis?: boolean | RedisOptions;
}

export interface ServerFixture {
  /** Throws when read before the `before` hook ran, or when NATS was not asked for. */
  readonly nats: NatsServer;
  readonly redis: RedisServer;
}

function optionsOf<T extends object>(v: boolean | T | undefined, dflt: boolean): T | undefined {
  if (v === undefined) return dflt ? ({} as T) : undefined;
  if (v === false) return undefined;
  return v === true ? ({} as T) : v;
}

/**
 * Starts the servers in a node:test `before` hook of the current suite (or file) and stops them
 * in `after`:
 *
 *   const servers = withServers({ redis: true });
 *   it('…', async () => { const nc = await connect({ servers: servers.nats.url }); … });
 */
export function withServers(options: WithServersOptions = {}): ServerFixture {
  const natsOptions = optionsOf(options.nats, true);
  const redisOptions = optionsOf(options.redis, false);
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  before(async () => {
    const [n, r] = await Promise.all([
      natsOptions ? startNats(natsOptions) : undefined,
      redisOptions ? startRedis(redisOptions) : undefined,
    ]);
    nats = n;
    redis = r;
  });
  after(async () => {
    await Promise.all([nats?.stop(), redis?.stop()]);
  });
  return {
    get nats(): NatsServer {
      if (!nats) throw new Error(natsOptions ? 'withServers: nats read before the before() hook ran' : 'withServers: nats was not requested');
      return nats;
    },
    get redis(): RedisServer {
      if (!redis) throw new Error(redisOptions ? 'withServers: redis read before the before() hook ran' : 'withServers: pass { redis: true } to get redis');
      return redis;
    },
  };
}
