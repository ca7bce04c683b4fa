/**
 * Public entry of @duet/testkit: real nats-server and redis-server processes on free ports for
 * integration tests, and per-test unique subjects and Redis key prefixes.
 */
export { APT_PACKAGES, findBinary, type ServerBinary } from './binaries.ts';
export { MissingBinaryError, ServerStartError } from './errors.ts';
export { startNats, type NatsOptions, type NatsServer } from './nats.ts';
export { startRedis, type RedisOptions, type RedisServer } from './redis.ts';
export { RESERVED_PORTS, freePort, isPortFree } from './ports.ts';
export {
  uniqueId,
  uniqueKeyPrefix,
  uniqueSubjects,
  withServers,
  type ServerFixture,
  type WithServersOptions,
} from './fixtures.ts';
