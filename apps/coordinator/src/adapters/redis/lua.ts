/**
 * The Lua scripts that make every Redis step atomic. Each takes the batch's
 * keys in the order of `batchKeyList` (meta, free, assign, failed, excess) —
 * all under one hash tag, so on Redis Cluster they live in one slot — and
 * never asks Node to read, decide and write in separate round trips.
 *
 * Replies are arrays whose first element names the outcome.
 */

/**
 * Loads a batch's state unless it is present. ARGV: status, expected,
 * then JSON arrays: free essay ids, [text_storage_id, essay_id] pairs,
 * [failure identity, essay_id] pairs, [text_storage_id, reason] excess pairs.
 * A failure identity is the contract's `failureIdentity`: `upload:<upload_id>`
 * for a v2 failure, the bare original_file_name for v1 (what the `failed` hash
 * held before v2, so entries written by older instances read the same).
 * Fresh registrations are loaded the same way (everything free), so
 * registering twice, or racing a rebuild, is harmless.
 */
/** The body both load scripts share: writes the snapshot in ARGV into the (empty) keys. */
const WRITE_SNAPSHOT = `
local free = cjson.decode(ARGV[3])
local assigned = cjson.decode(ARGV[4])
local failed = cjson.decode(ARGV[5])
local excess = cjson.decode(ARGV[6])
local function chunked(cmd, key, list, width)
  local buf = {}
  for i = 1, #list do
    local item = list[i]
    if width == 2 then buf[#buf + 1] = item[1]; buf[#buf + 1] = item[2] else buf[#buf + 1] = item end
    if #buf >= 1000 then redis.call(cmd, key, unpack(buf)); buf = {} end
  end
  if #buf > 0 then redis.call(cmd, key, unpack(buf)) end
end
chunked('SADD', KEYS[2], free, 1)
chunked('HSET', KEYS[3], assigned, 2)
chunked('HSET', KEYS[4], failed, 2)
chunked('HSET', KEYS[5], excess, 2)
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'expected', ARGV[2], 'settled', #assigned + #failed)
`;

export const LOAD_BATCH = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
${WRITE_SNAPSHOT}
return 1
`;

/**
 * Replaces a batch's entry with a final snapshot read from Postgres (its excess merged with the entry's), and lets it
 * expire. ARGV: as LOAD_BATCH, then the ttl in seconds. A closed batch never changes again, so its truth can
 * overwrite an entry a stale rebuild loaded (a snapshot read before another instance's write committed):
 * without this, such an entry stayed wrong, closed, for its whole TTL.
 */
export const REPLACE_FINAL = `
-- Excess only grows, and an instance may have added one after the snapshot was read: kept, and merged.
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
${WRITE_SNAPSHOT}
local ttl = tonumber(ARGV[7])
if ttl and ttl > 0 then
  for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], ttl) end
end
return 1
`;

/**
 * Notes a content Postgres recorded as excess in the entry's excess hash, unless it is there (its first reason
 * stays). ARGV: text_storage_id, reason, ttl in seconds. The hash takes the entry's expiry: none while the
 * entry lives without one (open), the entry's own when it has one (closed), and `ttl` when there is no entry
 * (dropped by a conflict, to be rebuilt: the rebuild merges its snapshot's excess into this hash).
 * Why: a content proposed as excess (the hash written) whose entry another instance dropped and rebuilt from
 * a snapshot read before this content's commit was lost from Redis for good (fuzz seed 32).
 */
export const NOTE_EXCESS = `
redis.call('HSETNX', KEYS[5], ARGV[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[5], ttl)
elseif ttl == -2 then
  local t = tonumber(ARGV[3])
  if t and t > 0 then redis.call('EXPIRE', KEYS[5], t) end
end
return 1
`;

/**
 * The two proposals as Lua functions, shared by the one-input scripts and the many-input one so that both
 * answer exactly alike. Each returns {kind, value}.
 *
 * assign_content(text_storage_id): a free slot for the content, idempotently per text_storage_id. Content
 * once reported excess stays excess (its reason is kept), so a redelivery repeats the same answer.
 * → {'missing'} | {'existing', essay_id} | {'assigned', essay_id} | {'excess', reason}
 *
 * settle_failure(identity): one free slot settled as failed, idempotently per failure identity (see
 * LOAD_BATCH): two uploads of one file name are two failures in v2.
 * → {'missing'} | {'existing', essay_id} | {'settled', essay_id} | {'excess', reason}
 */
const PROPOSALS = `
local function assign_content(id)
  if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
  local essay = redis.call('HGET', KEYS[3], id)
  if essay then return {'existing', essay} end
  local known = redis.call('HGET', KEYS[5], id)
  if known then return {'excess', known} end
  local status = redis.call('HGET', KEYS[1], 'status')
  if status ~= 'open' then
    redis.call('HSET', KEYS[5], id, 'batch_closed')
    return {'excess', 'batch_closed'}
  end
  local slot = redis.call('SPOP', KEYS[2])
  if not slot then
    redis.call('HSET', KEYS[5], id, 'no_free_slot')
    return {'excess', 'no_free_slot'}
  end
  redis.call('HSET', KEYS[3], id, slot)
  redis.call('HINCRBY', KEYS[1], 'settled', 1)
  return {'assigned', slot}
end
local function settle_failure(identity)
  if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
  local essay = redis.call('HGET', KEYS[4], identity)
  if essay then return {'existing', essay} end
  local status = redis.call('HGET', KEYS[1], 'status')
  if status ~= 'open' then return {'excess', 'batch_closed'} end
  local slot = redis.call('SPOP', KEYS[2])
  if not slot then return {'excess', 'no_free_slot'} end
  redis.call('HSET', KEYS[4], identity, slot)
  redis.call('HINCRBY', KEYS[1], 'settled', 1)
  return {'settled', slot}
end
`;

/** Assigns one content (see assign_content above). ARGV: text_storage_id. */
export const ASSIGN_CONTENT = `${PROPOSALS}
return assign_content(ARGV[1])
`;

/** Settles one validation failure (see settle_failure above). ARGV: failure identity. */
export const SETTLE_FAILURE = `${PROPOSALS}
return settle_failure(ARGV[1])
`;

/**
 * Proposes for many inputs of one batch in one call, in order, each exactly as the one-input scripts would
 * one after the other. ARGV: pairs of ('c', text_storage_id) for a content and ('f', identity) for a failure.
 * → a flat list of {kind, value} pairs, one per input ('' as the value of 'missing').
 */
export const PROPOSE_MANY = `${PROPOSALS}
local out = {}
for i = 1, #ARGV, 2 do
  local r
  if ARGV[i] == 'c' then r = assign_content(ARGV[i + 1])
  elseif ARGV[i] == 'f' then r = settle_failure(ARGV[i + 1])
  else return redis.error_reply('PROPOSE_MANY: input kind ' .. tostring(ARGV[i]) .. ' is neither c nor f') end
  out[#out + 1] = r[1]
  out[#out + 1] = r[2] or ''
end
return out
`;

/**
 * Closes a batch exactly once. ARGV: final status, ttl seconds.
 * → 1 for the call that closed it, 0 if it was closed already or is not cached.
 */
export const CLOSE_BATCH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'status') ~= 'open' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
local ttl = tonumber(ARGV[2])
if ttl and ttl > 0 then
  for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], ttl) end
end
return 1
`;
