package redis

import "github.com/redis/go-redis/v9"

// Every Lua script the store runs. Numbers cross into Lua as strings and are
// doubles there, exact up to 2^53; offsets, positions and sequences stay far
// below that. Integers are written back with string.format('%d') because
// tostring would switch to exponent notation past 1e14. Timestamps are kept
// as the strings the caller sent, so they come back exactly.

// scripts are loaded into the server's cache at Open, with the commit
// script (single or cluster), so that the first Commit is one EVALSHA too.
var scripts = []*redis.Script{indexScript, offsetForTimeScript,
	createTopicScript, deleteTopicScript, addPartitionsScript, alterConfigsScript,
	saveGroupScript, commitOffsetsScript, deleteGroupScript,
	replaceEntriesScript, trimScript, referencedScript, dropPartitionScript, leaseScript}

// commitScript assigns offsets to one object's batches, for every partition
// of the commit, in one atomic step, on a single Redis; see Store.Commit.
// clusterCommitScript does the same for the partitions of one cluster
// shard; both share commitBody.
//
// KEYS[1]            the store epoch
// KEYS[5g-3 .. 5g+1] for partition group g = 1..G: state, index, times,
//
//	producers and refs keys (keys.go)
//
// ARGV[1]  the store epoch the caller opened with
// ARGV[2]  the object key
// ARGV[3]  the channel to publish the notification on
// ARGV[4]  G, the number of partition groups
// then per group: the partition name, the batch count n, and n batches of 7
// fields: pos, len, records, max timestamp, producer id, producer epoch,
// base sequence.
// KEYS[#KEYS] the commit counter; ARGV[#ARGV] the lowest count the caller
// has seen. A counter below it means Redis went back in time (restored
// from an older snapshot, or a failover lost writes): offsets it would hand
// out may already be acknowledged.
//
// Returns {0} when the epoch is missing or differs, or the counter went
// back: nothing is written. Otherwise {1, then per group: log start, then
// per batch: code, offset; then the counter after this commit}.
// Codes: 0 accepted at offset; 1 duplicate, first given offset; 2 out of
// order sequence; 3 stale producer epoch; 4 unknown partition (offset 0).
//
// Per partition it follows Kafka 3.x idempotence: a producer new to the
// partition or in a newer epoch must start at sequence 0; an older epoch is
// fenced; the last 5 batches are kept and a retry of one is a duplicate.
// Consecutive accepted batches that follow each other in the object are
// indexed as one entry; a duplicate or refused batch ends the run. When any
// entry was added it publishes, on ARGV[3], lines
//
//	s <commit counter>[ <shard name>]
//	p <partition name> <new high watermark>
//	e <index entry member>
//
// for each partition with new entries.
var commitScript = redis.NewScript(`
local epochKey, countKey, seen, shard = KEYS[1], KEYS[#KEYS], ARGV[#ARGV], ''
local function pkey(j) return KEYS[1 + j] end
local a = 5
` + commitBody)

// clusterCommitScript is commitScript for the partitions of one shard of a
// Redis Cluster. Only the shard's anchor keys are declared, so the call is
// routed to the shard and passes the server's same-slot check; the
// partitions' keys, in other slots of the same shard, come in ARGV, which
// the allow-cross-slot-keys flag (Redis 7) permits.
//
// KEYS[1] the shard's epoch, KEYS[2] its commit counter
// ARGV[1..4] as commitScript's
// ARGV[5] the lowest count the caller has seen on this shard
// ARGV[6] the shard's name, added to the notification's "s" line
// ARGV[7 .. 6+5G] per group: state, index, times, producers and refs keys
// then the groups as in commitScript.
//
// Returns as commitScript, and {-1} when a partition's key is not served
// by this node (its slot moved, or is moving): nothing is written. Every
// key is checked before anything is written, as a failed call in a script
// does not undo the writes before it.
var clusterCommitScript = redis.NewScript(`#!lua flags=allow-cross-slot-keys
local epochKey, countKey, seen, shard = KEYS[1], KEYS[2], ARGV[5], ' ' .. ARGV[6]
local function pkey(j) return ARGV[6 + j] end
for j = 1, 5*tonumber(ARGV[4]) do
  if type(redis.pcall('EXISTS', pkey(j))) == 'table' then return {-1} end
end
local a = 7 + 5*tonumber(ARGV[4])
` + commitBody)

// commitBody is the commit scripts' shared part. The script before it sets
// epochKey, countKey, seen (the lowest count the caller has seen), shard
// (the notification's shard suffix), pkey(j) (the j-th partition key, five
// per group) and a (the ARGV index of the first group).
const commitBody = `local MAXSEQ = 2147483647
local function fmt(n) return string.format('%d', n) end
local function lastseq(base, records)
  local inc = records - 1
  if base > MAXSEQ - inc then return inc - (MAXSEQ - base) - 1 end
  return base + inc
end
local function nextseq(s)
  if s == MAXSEQ then return 0 end
  return s + 1
end
local function decode(v)
  if not v then return nil end
  local p, first = {batches = {}}, true
  for part in string.gmatch(v, '[^;]+') do
    if first then
      p.epoch, first = tonumber(part), false
    else
      local f, l, o = string.match(part, '^(%-?%d+),(%-?%d+),(%-?%d+)$')
      p.batches[#p.batches + 1] = {tonumber(f), tonumber(l), tonumber(o)}
    end
  end
  return p
end
local function encode(p)
  local parts = {fmt(p.epoch)}
  for _, b in ipairs(p.batches) do parts[#parts + 1] = fmt(b[1]) .. ',' .. fmt(b[2]) .. ',' .. fmt(b[3]) end
  return table.concat(parts, ';')
end
-- check returns a batch's code and, for a duplicate, its first offset.
local function check(p, epoch, first, last)
  if p == nil or epoch > p.epoch then
    if first ~= 0 then return 2 end
    return 0
  end
  if epoch < p.epoch then return 3 end
  for _, b in ipairs(p.batches) do
    if b[1] == first and b[2] == last then return 1, b[3] end
  end
  local n = #p.batches
  if n > 0 and first ~= nextseq(p.batches[n][2]) then return 2 end
  return 0
end
local function accept(p, epoch, first, last, base)
  if p == nil or p.epoch ~= epoch then p = {epoch = epoch, batches = {}} end
  p.batches[#p.batches + 1] = {first, last, base}
  if #p.batches > 5 then table.remove(p.batches, 1) end
  return p
end

if redis.call('GET', epochKey) ~= ARGV[1] then return {0} end
if tonumber(redis.call('GET', countKey) or '0') < tonumber(seen) then return {0} end
local object = ARGV[2]
local out, note = {1}, {}
for g = 1, tonumber(ARGV[4]) do
  local state, index, times, prods, refs = pkey(5*g - 4), pkey(5*g - 3), pkey(5*g - 2), pkey(5*g - 1), pkey(5*g)
  local name, n = ARGV[a], tonumber(ARGV[a + 1])
  a = a + 2
  local st = redis.call('HMGET', state, 'hw', 'maxts', 'start', 'refhw', 'refn')
  local hwraw = st[1]
  if not hwraw then
    out[#out + 1] = 0
    for i = 1, n do out[#out + 1] = 4; out[#out + 1] = 0 end
    a = a + 7*n
  else
    local hw = tonumber(hwraw)
    local maxts = st[2]
    out[#out + 1] = tonumber(st[3] or '0')
    local producers, dirty, entries, run = {}, {}, {}, nil
    local function close()
      if not run then return end
      local m = fmt(run.base) .. ',' .. fmt(run.last) .. ',' .. run.ts .. ',' ..
        fmt(run.pos) .. ',' .. fmt(run.stop - run.pos) .. ',' .. object
      redis.call('ZADD', index, run.base, m)
      redis.call('HINCRBY', refs, object, 1)
      if not maxts or tonumber(run.ts) > tonumber(maxts) then
        redis.call('ZADD', times, run.ts, fmt(run.base))
        maxts = run.ts
      end
      entries[#entries + 1] = m
      run = nil
    end
    for i = 1, n do
      local pos, len, records = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
      local ts, pid = ARGV[a + 3], ARGV[a + 4]
      local epoch, seq = tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
      a = a + 7
      local code, base = 0, hw
      if tonumber(pid) >= 0 then
        if producers[pid] == nil then producers[pid] = decode(redis.call('HGET', prods, pid)) or false end
        local p = producers[pid] or nil
        local last = lastseq(seq, records)
        code, base = check(p, epoch, seq, last)
        if code == 0 then
          base = hw
          producers[pid] = accept(p, epoch, seq, last, hw)
          dirty[pid] = true
        end
      end
      if code == 0 then
        hw = hw + records
        if run and run.stop == pos then
          run.last, run.stop = hw - 1, pos + len
          if tonumber(ts) > tonumber(run.ts) then run.ts = ts end
        else
          close()
          run = {base = base, last = hw - 1, ts = ts, pos = pos, stop = pos + len}
        end
      else
        close()
      end
      out[#out + 1] = code
      out[#out + 1] = base or 0
    end
    close()
    for pid in pairs(dirty) do redis.call('HSET', prods, pid, encode(producers[pid])) end
    if #entries > 0 then
      local fields = {'hw', fmt(hw), 'maxts', maxts, 'refn', fmt(tonumber(st[5] or '0') + #entries)}
      if st[4] == hwraw then
        fields[#fields + 1] = 'refhw'
        fields[#fields + 1] = fmt(hw)
      end
      redis.call('HSET', state, unpack(fields))
      note[#note + 1] = 'p ' .. name .. ' ' .. fmt(hw)
      for _, m in ipairs(entries) do note[#note + 1] = 'e ' .. m end
    end
  end
end
local count = redis.call('INCR', countKey)
if #note > 0 then redis.call('PUBLISH', ARGV[3], 's ' .. fmt(count) .. shard .. '\n' .. table.concat(note, '\n')) end
out[#out + 1] = count
return out
`

// indexScript reads the index entries of one partition from an offset.
//
// KEYS[1] the partition's index key
// KEYS[2] the partition's state key
// ARGV[1] from: the first offset wanted
// ARGV[2] limit: the most entries to return, at least 1
//
// Returns the members, in offset order, of up to limit entries whose last
// offset is >= from and >= the log start.
var indexScript = redis.NewScript(`
local from = math.max(tonumber(ARGV[1]), tonumber(redis.call('HGET', KEYS[2], 'start') or '0'))
local limit = tonumber(ARGV[2])
local out = {}
local prev = redis.call('ZREVRANGEBYSCORE', KEYS[1], string.format('%d', from), '-inf', 'LIMIT', 0, 1)
if prev[1] and tonumber(string.match(prev[1], '^%-?%d+,(%-?%d+),')) >= from then
  out[1] = prev[1]
end
if limit > #out then
  local rest = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. string.format('%d', from), '+inf',
    'LIMIT', 0, limit - #out)
  for _, m in ipairs(rest) do out[#out + 1] = m end
end
return out
`)

// offsetForTimeScript finds the first index entry whose max timestamp is at
// or after a time.
//
// KEYS[1] the partition's times key
// KEYS[2] the partition's index key
// ARGV[1] the timestamp, in milliseconds
//
// Returns the entry's member, or nil if there is none.
var offsetForTimeScript = redis.NewScript(`
local base = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf', 'LIMIT', 0, 1)[1]
if not base then return false end
return redis.call('ZRANGEBYSCORE', KEYS[2], base, base)[1] or false
`)

// createTopicScript registers a topic whose partitions' state keys the
// caller has already created.
//
// KEYS[1] the topic names set
// KEYS[2] the topic IDs hash
// KEYS[3] the topic's hash
// ARGV[1] name, ARGV[2] ID (UUID form), ARGV[3] partition count,
// ARGV[4..] config name and value pairs
//
// Returns 1 when created, 0 when the name is taken, -1 when the ID is.
var createTopicScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return -1 end
redis.call('HSET', KEYS[3], 'id', ARGV[2], 'partitions', ARGV[3])
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[3], 'config:' .. ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[1], ARGV[1])
return 1
`)

// deleteTopicScript unregisters a topic, once the caller has deleted its
// partitions' keys.
//
// KEYS[1] the topic names set, KEYS[2] the topic IDs hash, KEYS[3] the
// topic's hash
// ARGV[1] name, ARGV[2] the ID the caller read
//
// Returns 1 when deleted, 0 when there is no such topic or it has another
// ID (it was deleted and created again meanwhile).
var deleteTopicScript = redis.NewScript(`
if redis.call('HGET', KEYS[3], 'id') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[3])
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('SREM', KEYS[1], ARGV[1])
return 1
`)

// addPartitionsScript raises a topic's partition count, once the caller
// has created the new partitions' state keys.
//
// KEYS[1] the topic's hash
// ARGV[1] the new total, ARGV[2] the ID the caller read
//
// Returns 1 when raised, 0 when total is not above the count, -1 when
// there is no such topic or it has another ID.
var addPartitionsScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[2] then return -1 end
if tonumber(redis.call('HGET', KEYS[1], 'partitions')) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'partitions', ARGV[1])
return 1
`)

// alterConfigsScript changes a topic's configs.
//
// KEYS[1] the topic's hash
// ARGV[1] "1" to delete every config first, else "0"
// ARGV[2..] triples: config name, "set" or "delete", value
//
// Returns 1 when done, 0 when there is no such topic.
var alterConfigsScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == '1' then
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(f, 1, 7) == 'config:' then redis.call('HDEL', KEYS[1], f) end
  end
end
for i = 2, #ARGV, 3 do
  if ARGV[i + 1] == 'set' then
    redis.call('HSET', KEYS[1], 'config:' .. ARGV[i], ARGV[i + 2])
  else
    redis.call('HDEL', KEYS[1], 'config:' .. ARGV[i])
  end
end
return 1
`)

// saveGroupScript is SaveGroup's compare-and-set on the generation.
//
// KEYS[1] the group's state key, KEYS[2] its offsets key
// ARGV[1] the expected generation, -1 for no state
// ARGV[2] the new generation, ARGV[3] the member count, ARGV[4] the
// protocol type, ARGV[5] the state name, ARGV[6] the encoded state
//
// Returns {1, created} when saved, created being 1 if the group had
// neither state nor offsets before; {0, stored generation or -1} when the
// stored generation is not the expected one, and nothing is written.
var saveGroupScript = redis.NewScript(`
local gen = redis.call('HGET', KEYS[1], 'gen')
local stored = -1
if gen then stored = tonumber(gen) end
if stored ~= tonumber(ARGV[1]) then return {0, stored} end
local created = 0
if not gen and redis.call('EXISTS', KEYS[2]) == 0 then created = 1 end
redis.call('HSET', KEYS[1], 'gen', ARGV[2], 'members', ARGV[3], 'type', ARGV[4], 'state', ARGV[5], 'data', ARGV[6])
return {1, created}
`)

// commitOffsetsScript checks a commit's generation against the group's and
// stores the offsets, in one step.
//
// KEYS[1] the group's state key, KEYS[2] its offsets key
// ARGV[1] the commit's generation; negative for a simple commit
// ARGV[2..] pairs of offsets-hash field and encoded offset
//
// A simple commit passes when the group has no state or no members; any
// other passes when the state's generation equals ARGV[1]. Returns
// {1, created} when stored, created being 1 if the group had neither state
// nor offsets before; {0, stored generation or -1, member count} when
// refused, and nothing is written.
var commitOffsetsScript = redis.NewScript(`
local st = redis.call('HMGET', KEYS[1], 'gen', 'members')
local gen, members = tonumber(st[1] or '-1'), tonumber(st[2] or '0')
local want = tonumber(ARGV[1])
if (want < 0 and members > 0) or (want >= 0 and (not st[1] or gen ~= want)) then
  return {0, gen, members}
end
if #ARGV < 2 then return {1, 0} end
local created = 0
if not st[1] and redis.call('EXISTS', KEYS[2]) == 0 then created = 1 end
for i = 2, #ARGV, 2000 do
  redis.call('HSET', KEYS[2], unpack(ARGV, i, math.min(i + 1999, #ARGV)))
end
return {1, created}
`)

// deleteGroupScript deletes a group's state and offsets unless it has
// members.
//
// KEYS[1] the group's state key, KEYS[2] its offsets key
//
// Returns 1 when deleted, 0 when there was neither, -1 when the state has
// members, and nothing is deleted.
var deleteGroupScript = redis.NewScript(`
local members = redis.call('HGET', KEYS[1], 'members')
if members and tonumber(members) > 0 then return -1 end
if redis.call('DEL', KEYS[1], KEYS[2]) > 0 then return 1 end
return 0
`)

// replaceEntriesScript swaps consecutive index entries of one partition for
// others covering the same offsets, if every old entry is still there; see
// Store.ReplaceEntries.
//
// KEYS[1] the partition's state key, KEYS[2] its index key, KEYS[3] its
// times key, KEYS[4] its refs key
// ARGV[1] n, the number of new entries; then for each new entry in offset
// order its member, base offset and max timestamp
// ARGV[2+3n..] the members of the old entries
//
// Returns 1 when replaced; 0 when an old entry is missing, and nothing is
// written; -1 when the partition does not exist. The times set keeps its
// meaning. Unless an old entry was a time peak, none of the new ones is:
// their timestamps are those of the same batches. Otherwise the new peaks
// are found again from the last peak before the old entries, the one
// scored just below the first old peak; the largest new timestamp is the
// largest old one, so the peaks after them stay right.
var replaceEntriesScript = redis.NewScript(luaRefs + `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local first = 2 + 3 * tonumber(ARGV[1])
for i = first, #ARGV do
  if not redis.call('ZSCORE', KEYS[2], ARGV[i]) then return 0 end
end
local peak = nil
for i = first, #ARGV do
  redis.call('ZREM', KEYS[2], ARGV[i])
  unref(KEYS[4], ARGV[i])
  local base = string.match(ARGV[i], '^(%-?%d+),')
  local score = redis.call('ZSCORE', KEYS[3], base)
  if score then
    peak = peak or score
    redis.call('ZREM', KEYS[3], base)
  end
end
local run = nil
if peak then
  local before = redis.call('ZREVRANGEBYSCORE', KEYS[3], '(' .. peak, '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if before[2] then run = tonumber(before[2]) end
end
redis.call('HINCRBY', KEYS[1], 'refn', tonumber(ARGV[1]) - (#ARGV - first + 1))
for i = 2, first - 1, 3 do
  redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i])
  redis.call('HINCRBY', KEYS[4], objectOf(ARGV[i]), 1)
  local ts = tonumber(ARGV[i + 2])
  if peak and (not run or ts > run) then
    redis.call('ZADD', KEYS[3], ARGV[i + 2], ARGV[i + 1])
    run = ts
  end
end
return 1
`)

// trimScript raises a partition's log start to an entry boundary and
// deletes the entries below it; see Store.Trim.
//
// KEYS[1] the partition's state key, KEYS[2] its index key, KEYS[3] its
// times key, KEYS[4] its refs key
// ARGV[1] the new log start
//
// Returns 1 when trimmed, or when the log start is already at or past
// ARGV[1] (nothing is written); 0 when ARGV[1] is neither an entry's base
// offset nor the high watermark, and nothing is written; -1 when the
// partition does not exist. When a trimmed entry was a time peak, the peaks
// of the entries before the first surviving peak are found again, and with
// no surviving peak "maxts" becomes the largest remaining max timestamp
// (absent when no entry remains), so the next commit's peaks stay right.
var trimScript = redis.NewScript(luaRefs + `
local hw = redis.call('HGET', KEYS[1], 'hw')
if not hw then return -1 end
local start = tonumber(ARGV[1])
if start <= tonumber(redis.call('HGET', KEYS[1], 'start') or '0') then return 1 end
if start ~= tonumber(hw) and #redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[1], ARGV[1], 'LIMIT', 0, 1) == 0 then
  return 0
end
local peak, dropped = false, 0
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])) do
  unref(KEYS[4], m)
  dropped = dropped + 1
  if redis.call('ZREM', KEYS[3], string.match(m, '^(%-?%d+),')) == 1 then peak = true end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
redis.call('HINCRBY', KEYS[1], 'refn', -dropped)
redis.call('HSET', KEYS[1], 'start', ARGV[1])
if not peak then return 1 end
local first = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
local upto = '+inf'
if first then upto = '(' .. first end
local run = nil
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', upto)) do
  local base, ts = string.match(m, '^(%-?%d+),%-?%d+,(%-?%d+),')
  if not run or tonumber(ts) > tonumber(run) then
    redis.call('ZADD', KEYS[3], ts, base)
    run = ts
  end
end
if not first then
  if run then redis.call('HSET', KEYS[1], 'maxts', run) else redis.call('HDEL', KEYS[1], 'maxts') end
end
return 1
`)

// referencedScript says whether an index entry names an object, from the
// partition's refs hash, once it has checked the hash still counts the
// index: the state's "refn" (entries counted) must be the index's size and
// its "refhw" the high watermark, which commits move on only while they
// match. A partition from before the hash, or one that an agent of such a
// build changed since, fails the check, and the hash is built again from
// the whole index. (An older agent's compaction of one entry into one
// segment passes it unseen.)
//
// KEYS[1] the partition's state key, KEYS[2] its index key, KEYS[3] its
// refs key
// ARGV[1] the object key
//
// Returns 1 when an entry names it, else 0, and 0 when the partition does
// not exist.
var referencedScript = redis.NewScript(luaRefs + `
if not freshRefs(KEYS[1], KEYS[2], KEYS[3]) then return 0 end
return redis.call('HEXISTS', KEYS[3], ARGV[1])
`)

// dropPartitionScript deletes every key of a partition of a deleted topic
// and returns the objects its index named, from the refs hash once checked
// as referencedScript checks it, so that the caller records them as
// orphans. Reading and deleting at once leaves no commit between the two
// whose object would go unrecorded.
//
// KEYS[1..5] the partition's keys, in partitionKeys order
//
// Returns the object keys, none when the partition does not exist.
var dropPartitionScript = redis.NewScript(luaRefs + `
local objects = {}
if freshRefs(KEYS[1], KEYS[2], KEYS[5]) then objects = redis.call('HKEYS', KEYS[5]) end
redis.call('DEL', unpack(KEYS))
return objects
`)

// luaRefs keeps a partition's refs hash as entries go: objectOf is the
// object an index member names, unref counts one entry naming it less, and
// freshRefs builds the hash again from the index when the state says it no
// longer counts it (see referencedScript); it is false when the partition
// does not exist.
const luaRefs = `
local function objectOf(m) return string.match(m, '^[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,(.*)$') end
local function unref(refs, m)
  local o = objectOf(m)
  if redis.call('HINCRBY', refs, o, -1) <= 0 then redis.call('HDEL', refs, o) end
end
local function freshRefs(state, index, refs)
  local st = redis.call('HMGET', state, 'hw', 'refhw', 'refn')
  if not st[1] then return false end
  local n = redis.call('ZCARD', index)
  if st[2] ~= st[1] or tonumber(st[3] or '0') ~= n then
    redis.call('DEL', refs)
    for _, m in ipairs(redis.call('ZRANGE', index, 0, -1)) do
      redis.call('HINCRBY', refs, objectOf(m), 1)
    end
    redis.call('HSET', state, 'refhw', st[1], 'refn', n)
  end
  return true
end
`

// leaseScript takes a lease, or renews it for its holder: SET NX PX that
// also succeeds for the current holder.
//
// KEYS[1] the lease key
// ARGV[1] the holder, ARGV[2] the time to live in milliseconds
//
// Returns 1 when ARGV[1] holds the lease now, 0 when another holder does.
var leaseScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// The fleet registry's scripts (registry.go) measure expiry by the Redis
// server's clock, so agents' clocks may disagree. Each starts with luaNow,
// which sets now in Unix milliseconds.
const luaNow = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function fmt(n) return string.format('%d', n) end
`

// registerAgentScript gives an agent a node id and registers it.
//
// KEYS[1] the expiry sorted set, KEYS[2] the info hash, KEYS[3] the node id
// counter
// ARGV[1] the encoded agent, ARGV[2] the time to live in milliseconds
//
// Returns the node id: the counter's next value that no unexpired
// registration holds (one may, only if Redis lost the counter's writes), or
// -1 once ids pass 2^31-1.
var registerAgentScript = redis.NewScript(luaNow + `
local id
while true do
  id = redis.call('INCR', KEYS[3])
  if id > 2147483647 then return -1 end
  local exp = redis.call('ZSCORE', KEYS[1], id)
  if not exp or tonumber(exp) <= now then break end
end
redis.call('ZADD', KEYS[1], fmt(now + tonumber(ARGV[2])), id)
redis.call('HSET', KEYS[2], id, ARGV[1])
return id
`)

// heartbeatAgentScript renews a registration, or makes it again once it
// expired.
//
// KEYS[1] the expiry sorted set, KEYS[2] the info hash
// ARGV[1] the node id, ARGV[2] the encoded agent, ARGV[3] the time to live
// in milliseconds
//
// Returns 1 when the agent is registered until now + ttl, 0 when an
// unexpired registration of the id holds another agent (nothing changes).
var heartbeatAgentScript = redis.NewScript(luaNow + `
local exp = redis.call('ZSCORE', KEYS[1], ARGV[1])
if exp and tonumber(exp) > now then
  local cur = redis.call('HGET', KEYS[2], ARGV[1])
  if cur and cur ~= ARGV[2] then return 0 end
end
redis.call('ZADD', KEYS[1], fmt(now + tonumber(ARGV[3])), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
`)

// deregisterAgentScript removes a registration if it holds the agent.
//
// KEYS[1] the expiry sorted set, KEYS[2] the info hash
// ARGV[1] the node id, ARGV[2] the encoded agent
//
// Returns 1 when it was removed, 0 when there was none or it held another
// agent.
var deregisterAgentScript = redis.NewScript(`
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`)

// liveAgentsScript drops expired registrations and lists the others.
//
// KEYS[1] the expiry sorted set, KEYS[2] the info hash
//
// Returns {node id, encoded agent, ...} for every unexpired registration,
// in no particular order.
var liveAgentsScript = redis.NewScript(luaNow + `
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', fmt(now))) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local a = redis.call('HGET', KEYS[2], id)
  if a then
    out[#out + 1] = id
    out[#out + 1] = a
  end
end
return out
`)

func init() {
	scripts = append(scripts, registerAgentScript, heartbeatAgentScript, deregisterAgentScript, liveAgentsScript)
}
