// registrar/store/redis/redis_scripts.h — the Lua scripts of the Redis binding
// store (see redis_binding_store.h for the key layout). Each one runs
// atomically in Redis; each checks what could make it fail half-way (a key of
// the wrong type, a garbage counter) before its first write, because Redis
// does not roll back a script's writes when a later command errors.
#ifndef SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_SCRIPTS_H_
#define SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_SCRIPTS_H_

namespace registrar::redis_scripts {

// KEYS: 1 aor key, 2 aors zset, 3 events stream, 4 events:last, 5 realm-names set
// ARGV: 1 aor, 2 value ("" deletes), 3 latest expiry ms (the indexes' score),
//       4 realm key prefix, 5 new realms ('\0'-joined), 6 the stamp the stored
//       set must have ("" = unguarded; "0" = none stored), 7 the new stamp,
//       8 when Redis drops the key (ms, PXAT: the latest expiry plus a grace
//       that leaves the replicas time to report the expiry),
//       9 number of events n, then n × (time ms, blob)
// Returns the first event's sequence (0 without events), or the error
// "CONFLICT <stored stamp>" (nothing written) when the guard fails.
inline constexpr const char* kReplaceAor = R"lua(
local function split(s)
  local out = {}
  if s == nil or s == '' then return out end
  for r in string.gmatch(s, '[^%z]+') do out[#out + 1] = r end
  return out
end
local function want(key, kind)
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'none' and t ~= kind then
    return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a ' .. kind)
  end
  return nil
end
local err = want(KEYS[2], 'zset') or want(KEYS[3], 'stream') or want(KEYS[4], 'string') or
            want(KEYS[5], 'set')
if err then return err end
local old_realms = {}
local old_stamp = '0'
if redis.call('TYPE', KEYS[1])['ok'] == 'string' then
  local old = redis.call('GET', KEYS[1])
  local stamp, len, pos = string.match(old, '^sb2 (%d+) (%d+)\n()')
  if not len then len, pos = string.match(old, '^sb1 (%d+)\n()') else old_stamp = stamp end
  if len then old_realms = split(string.sub(old, pos, pos + tonumber(len) - 1)) end
end
if ARGV[6] ~= '' and ARGV[6] ~= old_stamp then
  return redis.error_reply('CONFLICT ' .. old_stamp)
end
local new_realms = split(ARGV[5])
for _, r in ipairs(old_realms) do
  err = want(ARGV[4] .. r, 'zset')
  if err then return err end
end
for _, r in ipairs(new_realms) do
  err = want(ARGV[4] .. r, 'zset')
  if err then return err end
end
local n = tonumber(ARGV[9])
local first = 0
if n > 0 then
  local last = tonumber(redis.call('GET', KEYS[4]) or '0')
  if last == nil then return redis.error_reply('ERR ' .. KEYS[4] .. ' is not a number') end
  if redis.call('EXISTS', KEYS[3]) == 1 then
    local info = redis.call('XINFO', 'STREAM', KEYS[3])
    for i = 1, #info, 2 do
      if info[i] == 'last-generated-id' then
        local top = tonumber(string.match(info[i + 1], '^(%d+)')) or 0
        if top > last then last = top end
      end
    end
  end
  first = last + 1
end
-- Every check passed: write.
for _, r in ipairs(old_realms) do redis.call('ZREM', ARGV[4] .. r, ARGV[1]) end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  local expiry = tonumber(ARGV[3])
  redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[8])
  redis.call('ZADD', KEYS[2], expiry, ARGV[1])
  for _, r in ipairs(new_realms) do
    redis.call('ZADD', ARGV[4] .. r, expiry, ARGV[1])
    redis.call('SADD', KEYS[5], r)
  end
end
if n > 0 then
  for i = 0, n - 1 do
    redis.call('XADD', KEYS[3], string.format('%d-0', first + i), 't', ARGV[10 + 2 * i],
               'a', ARGV[1], 's', ARGV[7], 'e', ARGV[11 + 2 * i])
  end
  redis.call('SET', KEYS[4], string.format('%d', first + n - 1))
end
return first
)lua";

// KEYS: 1 events stream, 2 events:last. ARGV: 1 max_events (0: no limit),
// 2 oldest time to keep in ms ("" = no age limit).
// Trims the oldest events (a prefix) with XTRIM MINID; returns how many went.
inline constexpr const char* kTrimEvents = R"lua(
if redis.call('TYPE', KEYS[1])['ok'] ~= 'stream' then return 0 end
local last = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local cutoff = 0
local max_events = tonumber(ARGV[1])
if max_events > 0 and last >= max_events then cutoff = last - max_events + 1 end
if ARGV[2] ~= '' then
  local keep = tonumber(ARGV[2])
  local start = '-'
  if cutoff > 0 then start = string.format('%d-0', cutoff) end
  local young = nil
  while young == nil do
    local entries = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', 256)
    if #entries == 0 then young = last + 1 break end
    for _, e in ipairs(entries) do
      local f = e[2]
      local t = nil
      for i = 1, #f, 2 do
        if f[i] == 't' then t = tonumber(f[i + 1]) end
      end
      if t == nil or t >= keep then
        young = tonumber(string.match(e[1], '^(%d+)'))
        break
      end
    end
    start = '(' .. entries[#entries][1]
  end
  if young > cutoff then cutoff = young end
end
if cutoff > 1 then
  return redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d-0', cutoff))
end
return 0
)lua";

// KEYS: 1 aors zset, 2 realm-names set. ARGV: 1 now ms, 2 aor key prefix,
// 3 realm key prefix, 4 most AORs to purge in this call.
// Deletes AORs whose latest expiry <= now (their keys too) and the realm
// indexes' expired entries; returns how many AORs went.
inline constexpr const char* kPurgeExpired = R"lua(
if redis.call('TYPE', KEYS[1])['ok'] ~= 'zset' then return 0 end
local aors = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))
for _, aor in ipairs(aors) do
  redis.call('DEL', ARGV[2] .. aor)
  redis.call('ZREM', KEYS[1], aor)
end
if redis.call('TYPE', KEYS[2])['ok'] == 'set' then
  for _, r in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    local key = ARGV[3] .. r
    local t = redis.call('TYPE', key)['ok']
    if t == 'zset' then
      redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
      if redis.call('ZCARD', key) == 0 then redis.call('SREM', KEYS[2], r) end
    elseif t == 'none' then
      redis.call('SREM', KEYS[2], r)
    end
  end
end
return #aors
)lua";

}  // namespace registrar::redis_scripts

#endif  // SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_SCRIPTS_H_
