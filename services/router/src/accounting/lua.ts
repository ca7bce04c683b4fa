/**
 * The Redis side of the accounting: key layout and the Lua scripts that mutate it atomically. Each
 * script is the ledger.ts transition of the same name, step for step (same parts, same "changed"
 * rule, same version bumps), so the contract tests hold for both implementations.
 *
 * Keys (after the client's keyPrefix; the `{acct}` hash tag keeps them in one Redis Cluster slot,
 * which multi-key scripts need):
 *
 *   {acct}:version       string   INCR on every mutation; absent = 0
 *   {acct}:prefill       hash     workerId → prefill tokens in flight     (field absent = 0)
 *   {acct}:blocks        hash     workerId → decode KV blocks reserved    (field absent = 0)
 *   {acct}:seqs          hash     workerId → running sequences            (field absent = 0)
 *   {acct}:reservations  hash     requestId → {"p","t","d","b","h","at"} (cjson)
 *                                   p prefilling worker, t prefill tokens still held, d decode
 *                                   worker, b blocks, h decode part held (1/0), at reserved (ms)
 *   {acct}:expiry        zset     requestId scored by expiry (ms)
 *
 * Snapshot reply (reserve, read): { status, version, prefill HGETALL, blocks HGETALL, seqs HGETALL }.
 * Times are the calling router's clock, passed in ARGV (scripts never call TIME), so expiry is
 * testable with a fake clock; replicas' clock skew only shifts expiry by the skew.
 */

export const ACCOUNTING_KEYS = ['{acct}:version', '{acct}:prefill', '{acct}:blocks', '{acct}:seqs', '{acct}:reservations', '{acct}:expiry'] as const;

const PRELUDE = `
local V, PF, BL, SQ, RES, EXP = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]

local function add(hash, w, delta)
  if delta == 0 then return end
  if redis.call('HINCRBY', hash, w, delta) <= 0 then redis.call('HDEL', hash, w) end
end

-- Gives back the chosen parts of entry e; deletes it once nothing is held. True when anything changed.
local function releaseParts(id, e, prefill, decode)
  local changed = false
  if prefill and e.t > 0 then add(PF, e.p, -e.t); e.t = 0; changed = true end
  if decode and e.h == 1 then add(BL, e.d, -e.b); add(SQ, e.d, -1); e.h = 0; changed = true end
  if e.t == 0 and e.h == 0 then
    redis.call('HDEL', RES, id)
    redis.call('ZREM', EXP, id)
    return true
  end
  if changed then redis.call('HSET', RES, id, cjson.encode(e)) end
  return changed
end

-- Releases up to limit reservations whose expiry is <= now; returns how many.
local function sweep(now, limit)
  local ids = redis.call('ZRANGEBYSCORE', EXP, '-inf', now, 'LIMIT', 0, limit)
  for _, id in ipairs(ids) do
    local raw = redis.call('HGET', RES, id)
    if raw then releaseParts(id, cjson.decode(raw), true, true) else redis.call('ZREM', EXP, id) end
  end
  return #ids
end

local function snapshot(status)
  return { status, redis.call('GET', V) or '0', redis.call('HGETALL', PF), redis.call('HGETALL', BL), redis.call('HGETALL', SQ) }
end
`;

/** ARGV: now, sweepLimit. Sweeps expired reservations (a mutation only if any), then the snapshot. */
export const READ_LUA = `${PRELUDE}
if sweep(ARGV[1], tonumber(ARGV[2])) > 0 then redis.call('INCR', V) end
return snapshot(1)
`;

/**
 * ARGV: ifVersion ('' = unconditional), requestId, prefilling worker, prefill tokens, decode worker,
 * decode blocks, now, ttlMs, sweepLimit. Version moved on: { 0, current snapshot } and no change.
 * Otherwise replaces any earlier reservation of the request, sweeps, bumps once: { 1, snapshot }.
 */
export const RESERVE_LUA = `${PRELUDE}
if ARGV[1] ~= '' and (redis.call('GET', V) or '0') ~= ARGV[1] then return snapshot(0) end
local id, now = ARGV[2], tonumber(ARGV[7])
local old = redis.call('HGET', RES, id)
if old then releaseParts(id, cjson.decode(old), true, true) end
local e = { p = ARGV[3], t = tonumber(ARGV[4]), d = ARGV[5], b = tonumber(ARGV[6]), h = 1, at = now }
add(PF, e.p, e.t)
add(BL, e.d, e.b)
add(SQ, e.d, 1)
redis.call('HSET', RES, id, cjson.encode(e))
redis.call('ZADD', EXP, now + tonumber(ARGV[8]), id)
sweep(now, tonumber(ARGV[9]))
redis.call('INCR', V)
return snapshot(1)
`;

/** ARGV: requestId, 'prefill' | 'all', workerId guard ('' = none). Returns 1 when anything changed. */
export const RELEASE_LUA = `${PRELUDE}
local raw = redis.call('HGET', RES, ARGV[1])
if not raw then return 0 end
local e = cjson.decode(raw)
if ARGV[3] ~= '' and ARGV[3] ~= e.p and ARGV[3] ~= e.d then return 0 end
if releaseParts(ARGV[1], e, true, ARGV[2] == 'all') then
  redis.call('INCR', V)
  return 1
end
return 0
`;

/**
 * ARGV: workerId, mode 'drop' | 'idle', cutoff ms (idle only). Releases the worker's parts of every
 * reservation made at or before the cutoff (all of them for 'drop'), O(open reservations); 'idle'
 * returns at once when the worker has no load; 'drop' also clears the worker's counters.
 * Returns how many reservations were touched.
 */
export const WORKER_PARTS_LUA = `${PRELUDE}
local w, drop = ARGV[1], ARGV[2] == 'drop'
if not drop and redis.call('HEXISTS', PF, w) == 0 and redis.call('HEXISTS', BL, w) == 0 and redis.call('HEXISTS', SQ, w) == 0 then
  return 0
end
local cutoff = drop and math.huge or tonumber(ARGV[3])
local n = 0
local all = redis.call('HGETALL', RES)
for i = 1, #all, 2 do
  local e = cjson.decode(all[i + 1])
  if e.at <= cutoff and (e.p == w or e.d == w) then
    if releaseParts(all[i], e, e.p == w, e.d == w) then n = n + 1 end
  end
end
local cleared = 0
if drop then cleared = redis.call('HDEL', PF, w) + redis.call('HDEL', BL, w) + redis.call('HDEL', SQ, w) end
if n > 0 or cleared > 0 then redis.call('INCR', V) end
return n
`;
