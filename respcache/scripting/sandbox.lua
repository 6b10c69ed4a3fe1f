-- The sandbox Redis 7.0 gives scripts (src/script_lua.c, src/eval.c), rebuilt on a
-- stock Lua 5.1 through lupa. Run once per runtime with the real globals; everything
-- it needs later is kept in locals (upvalues), and every function defined here runs
-- with an empty, sealed environment, so getfenv() on one of them yields nothing.
--
-- Redis's Lua has read-only tables (lua_enablereadonlytable); stock Lua has not, so
-- the globals and the libraries scripts see are empty proxies: reads go through
-- __index to the real table, writes raise Redis's "Attempt to modify a readonly
-- table", and rawset/rawget/next/pairs/ipairs/setmetatable/getfenv are wrapped so
-- they neither write through a proxy nor reveal a real table.
local py = ...
local LG = _G  -- lupa's own globals: left as they are (lupa itself uses them)
local type, error, tostring, rawget, rawset, next, pairs, ipairs, select =
    type, error, tostring, rawget, rawset, next, pairs, ipairs, select
local setmetatable, getmetatable, setfenv, getfenv, loadstring, xpcall, pcall, unpack =
    setmetatable, getmetatable, setfenv, getfenv, loadstring, xpcall, pcall, unpack
local tconcat, sformat, sgsub, ssub, sfind, sbyte, floor =
    table.concat, string.format, string.gsub, string.sub, string.find, string.byte, math.floor
local getinfo, sethook, dgetmetatable = debug.getinfo, debug.sethook, debug.getmetatable
local SEALED = setmetatable({}, {__index = function() return nil end,
                                 __newindex = function() error("Attempt to modify a readonly table", 2) end,
                                 __metatable = false})
setfenv(1, SEALED)

local protected = setmetatable({}, {__mode = "k"})  -- proxy -> real table
local reals = setmetatable({}, {__mode = "k"})      -- real table -> true

local function readonly_error()
  error("Attempt to modify a readonly table", 2)
end

local function proxy_of(real)
  local p = setmetatable({}, {__index = real, __newindex = readonly_error, __metatable = false})
  protected[p] = real
  reals[real] = true
  return p
end

-- The scripts' globals: exactly Redis's allow lists (script_lua.c), nothing of os,
-- io, package, require, loadfile, dofile, print, debug or lupa's python bridge.
local G = {}
for _, name in ipairs({"xpcall", "tostring", "getfenv", "setmetatable", "next", "assert",
                       "tonumber", "rawequal", "collectgarbage", "getmetatable", "rawset",
                       "pcall", "type", "select", "unpack", "gcinfo", "pairs", "rawget",
                       "loadstring", "ipairs", "_VERSION", "setfenv", "load", "error",
                       "newproxy"}) do
  rawset(G, name, rawget(LG, name))
end
for _, name in ipairs({"string", "table", "math", "coroutine"}) do
  local copy = {}
  for k, v in next, rawget(LG, name) do copy[k] = v end
  rawset(G, name, copy)
end

-- ---------------------------------------------------------------------------
-- Errors: Redis's error tables {err="CODE msg"} (luaPushErrorBuff).
local function trim_crlf(s)
  s = sgsub(s, "^[\r\n]+", "")
  return (sgsub(s, "[\r\n]+$", ""))
end

local function error_table(s)
  local code, msg
  if ssub(s, 1, 1) == "-" then
    local sp = sfind(s, " ", 1, true)
    if not sp then
      code, msg = "ERR", ssub(s, 2)
    else
      code, msg = ssub(s, 2, sp - 1), ssub(s, sp + 1)
    end
  else
    code, msg = "ERR", s
  end
  return {err = code .. " " .. trim_crlf(msg)}
end

-- __redis__err__handler of eval.c: position of the caller of the failing C function.
-- Frames of this file are skipped the same way, as if they were C.
local SELF = getinfo(1, "S").source
local error_value = py.error_value
local function err_handler(err)
  if type(err) == "userdata" then err = error_value(err) end
  local level = 2
  local i = getinfo(level, "nSl")
  while i and (i.what == "C" or i.source == SELF) do
    level = level + 1
    i = getinfo(level, "nSl")
  end
  if type(err) ~= "table" then
    err = {err = "ERR " .. tostring(err)}
  end
  if i then
    err["source"] = i.source
    err["line"] = i.currentline
  end
  return err
end

-- "user_script:1: ": where a Python library function was called from (luaL_where).
local function where()
  local level = 2
  local i = getinfo(level, "Sl")
  while i and (i.what == "C" or i.source == SELF) do
    level = level + 1
    i = getinfo(level, "Sl")
  end
  if i and i.currentline > 0 then return i.short_src .. ":" .. i.currentline .. ": " end
  return ""
end

-- ---------------------------------------------------------------------------
-- The redis.* API.
local run = nil      -- the current invocation: {resp=2|3}; nil outside one
local get_resp = py.get_resp
local redis = {}

-- redis.call / redis.pcall are Python functions (C functions for Lua, so a tail call
-- keeps the script's frame and the error position, as with Redis's C functions); a
-- failing redis.call raises a Python exception carrying the error table, which the
-- handler and pcall below unwrap.
redis.call = py.call_raise
redis.pcall = py.pcall

redis.sha1hex = py.sha1hex

function redis.error_reply(...)
  local s = ...
  if select("#", ...) ~= 1 or type(s) ~= "string" then
    return error_table("wrong number or type of arguments")
  end
  if ssub(s, 1, 1) ~= "-" then s = "-" .. s end
  return error_table(s)
end

function redis.status_reply(...)
  local s = ...
  if select("#", ...) ~= 1 or type(s) ~= "string" then
    return error_table("wrong number or type of arguments")
  end
  return {ok = s}
end

redis.log = py.log
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3

redis.setresp = py.setresp
redis.set_repl = py.set_repl
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3

function redis.replicate_commands() return true end

function redis.breakpoint() return false end
function redis.debug() end

-- A Python (for Lua: C) function, so that `return redis.acl_check_cmd(...)` keeps the
-- script's frame for the error position, as Redis's C function does.
redis.acl_check_cmd = py.acl_check

redis.REDIS_VERSION_NUM = py.version_num
redis.REDIS_VERSION = py.version

-- math.random / math.randomseed: Redis's lrand48 (src/rand.c), same sequence everywhere.
local function random(...)
  if not run then error("math.random can only be called inside a script invocation", 0) end
  local r = py.rand48() / 2147483647
  local n = select("#", ...)
  if n == 0 then return r end
  if n == 1 then
    local u = G.tonumber((...))
    if not u then error(where() .. "bad argument #1 to 'random' (number expected)", 0) end
    u = u - u % 1
    if u < 1 then error(where() .. "bad argument #1 to 'random' (interval is empty)", 0) end
    return floor(r * u) + 1
  elseif n == 2 then
    local l, u = ...
    l, u = G.tonumber(l), G.tonumber(u)
    if not l then error(where() .. "bad argument #1 to 'random' (number expected)", 0) end
    if not u then error(where() .. "bad argument #2 to 'random' (number expected)", 0) end
    l, u = l - l % 1, u - u % 1
    if l > u then error(where() .. "bad argument #2 to 'random' (interval is empty)", 0) end
    return floor(r * (u - l + 1)) + l
  end
  error(where() .. "wrong number of arguments", 0)
end
local function randomseed(seed)
  if not run then error(where() .. "math.randomseed can only be called inside a script invocation", 0) end
  seed = G.tonumber(seed)
  if not seed then error(where() .. "bad argument #1 to 'randomseed' (number expected)", 0) end
  py.srand48(seed - seed % 1)
end
rawset(G.math, "random", random)
rawset(G.math, "randomseed", randomseed)

-- ---------------------------------------------------------------------------
-- Lua -> RESP (luaReplyToRedisReply), written as the caller's protocol.
local function map_crlf(s) return (sgsub(s, "[\r\n]", " ")) end

local to_resp
local function bulk(s) return "$" .. #s .. "\r\n" .. s .. "\r\n" end
local function null(resp) if resp == 3 then return "_\r\n" end return "$-1\r\n" end
local function double(d, resp)
  local s
  if d == 1 / 0 then s = "inf" elseif d == -1 / 0 then s = "-inf" else s = sformat("%.17g", d) end
  if resp == 3 then return "," .. s .. "\r\n" end
  return bulk(s)
end

-- Redis converts recursively on the Lua stack and answers "reached lua stack limit" for
-- a value nested deeper than it has room for: 7995 levels on a fresh stack.
local MAX_REPLY_DEPTH = 7995
to_resp = function(v, out, resp, sresp, depth)
  depth = (depth or 0) + 1
  if depth > MAX_REPLY_DEPTH then
    out[#out + 1] = "-ERR reached lua stack limit\r\n"
    return
  end
  local t = type(v)
  if t == "string" then
    out[#out + 1] = bulk(v)
  elseif t == "boolean" then
    if sresp == 2 then
      out[#out + 1] = v and ":1\r\n" or null(resp)
    elseif resp == 3 then
      out[#out + 1] = v and "#t\r\n" or "#f\r\n"
    else
      out[#out + 1] = v and ":1\r\n" or ":0\r\n"
    end
  elseif t == "number" then
    out[#out + 1] = sformat(":%d\r\n", v)
  elseif t == "table" then
    local f = rawget(v, "err")
    if type(f) == "string" then
      out[#out + 1] = "-" .. map_crlf(f) .. "\r\n"
      return
    end
    f = rawget(v, "ok")
    if type(f) == "string" then
      out[#out + 1] = "+" .. map_crlf(f) .. "\r\n"
      return
    end
    f = rawget(v, "double")
    if type(f) == "number" then
      out[#out + 1] = double(f, resp)
      return
    end
    f = rawget(v, "big_number")
    if type(f) == "string" then
      f = map_crlf(f)
      if resp == 3 then out[#out + 1] = "(" .. f .. "\r\n" else out[#out + 1] = bulk(f) end
      return
    end
    f = rawget(v, "verbatim_string")
    if type(f) == "table" then
      local format, str = rawget(f, "format"), rawget(f, "string")
      if type(format) == "string" and type(str) == "string" then
        if resp == 3 then
          out[#out + 1] = "=" .. (#str + 4) .. "\r\n" .. ssub(format .. "\0\0\0", 1, 3) .. ":" .. str .. "\r\n"
        else
          out[#out + 1] = bulk(str)
        end
        return
      end
    end
    f = rawget(v, "map")
    if type(f) == "table" then
      local at = #out + 1
      out[at] = ""
      local n = 0
      local k, val = next(f)
      while k ~= nil do
        to_resp(k, out, resp, sresp, depth)
        to_resp(val, out, resp, sresp, depth)
        n = n + 1
        k, val = next(f, k)
      end
      out[at] = (resp == 3 and "%" or "*") .. (resp == 3 and n or 2 * n) .. "\r\n"
      return
    end
    f = rawget(v, "set")
    if type(f) == "table" then
      local at = #out + 1
      out[at] = ""
      local n = 0
      local k = next(f)
      while k ~= nil do
        to_resp(k, out, resp, sresp, depth)
        n = n + 1
        k = next(f, k)
      end
      out[at] = (resp == 3 and "~" or "*") .. n .. "\r\n"
      return
    end
    local at = #out + 1
    out[at] = ""
    local j = 1
    while true do
      local e = rawget(v, j)
      if e == nil then break end
      to_resp(e, out, resp, sresp, depth)
      j = j + 1
    end
    out[at] = "*" .. (j - 1) .. "\r\n"
  else
    out[#out + 1] = null(resp)
  end
end

-- ---------------------------------------------------------------------------
-- The script kill hook (luaMaskCountHook): every 100000 instructions, every 10000
-- once the script is past busy-reply-threshold (each call may serve the event loop).
-- Once killed it runs on every line, so a script's own pcall cannot catch the kill
-- and go on; lines of this file (which Redis runs as C) are left alone.
local function kill_hook(event)
  if event == "line" and getinfo(2, "S").source == SELF then return end
  local verdict = py.interrupt()
  if verdict == 2 then
    sethook(kill_hook, "", 10000)
  elseif verdict == 1 then
    sethook(kill_hook, "l")
    error(error_table("Script killed by user with SCRIPT KILL..."))
  end
end

-- Runs a compiled script. Returns ("ok", resp) or ("err", message).
-- eval.c: a GC step of 50 every 50 scripts, so garbage does not wait for a full cycle.
local LUA_GC_CYCLE_PERIOD = 50
local gc_count = 0
local lua_gc = rawget(LG, "collectgarbage")

local invoke

-- The same, with KEYS and ARGV built here from the call's arguments (cheaper than two
-- tables built from Python, for the few arguments most scripts take).
local function invoke_args(fn, funcname, resp, eval_mode, hook, nkeys, ...)
  local keys, args = {}, {...}
  if nkeys > 0 then
    local n = #args
    for i = 1, nkeys do keys[i] = args[i] end
    for i = nkeys + 1, n do args[i - nkeys] = args[i] end
    for i = n - nkeys + 1, n do args[i] = nil end
  end
  return invoke(fn, keys, args, funcname, resp, eval_mode, hook)
end

invoke = function(fn, keys, args, funcname, resp, eval_mode, hook)
  gc_count = gc_count + 1
  if gc_count == LUA_GC_CYCLE_PERIOD then
    lua_gc("step", LUA_GC_CYCLE_PERIOD)
    gc_count = 0
  end
  run = {resp = 2}
  local body = fn
  if eval_mode then
    rawset(G, "KEYS", keys)
    rawset(G, "ARGV", args)
  else
    body = function() return fn(keys, args) end
  end
  if hook then sethook(kill_hook, "", 100000) end
  local ok, res = xpcall(body, err_handler)
  if hook then sethook() end
  local sresp = get_resp()
  run = nil
  if not ok then
    if type(res) ~= "table" then
      local msg = "execution failure"
      if type(res) == "string" or type(res) == "number" then msg = tostring(res) end
      return "err", "ERR Error running script " .. funcname .. ", " .. ssub(msg, 1, 100)
    end
    local msg = rawget(res, "err")
    if type(msg) ~= "string" and type(msg) ~= "number" then msg = "" end
    local source, line = rawget(res, "source"), rawget(res, "line")
    if (type(source) == "string" or type(source) == "number")
       and (type(line) == "string" or type(line) == "number") then
      msg = msg .. " script: " .. funcname .. ", on " .. source .. ":" .. line .. "."
    end
    return "err", msg, rawget(res, "ignore_error_stats_update") == true
  end
  if type(res) == "table" then
    local e = rawget(res, "err")
    if type(e) == "string" then
      return "err", e, rawget(res, "ignore_error_stats_update") == true
    end
  end
  local out = {}
  local ok2, err2 = pcall(to_resp, res, out, resp, sresp)
  if not ok2 then return "err", "ERR " .. tostring(err2) end
  return "ok", tconcat(out)
end

-- Binary chunks are never loaded (Redis's Lua always runs the parser).
local G_proxy
local function safe_loadstring(s, name, env)
  local fn, err
  if type(s) == "string" and sbyte(s, 1) == 27 then
    fn, err = loadstring(" " .. s, name or s)
  else
    fn, err = loadstring(s, name)
  end
  if fn then setfenv(fn, env or G_proxy) end
  return fn, err
end

local function safe_load(f, name)
  if type(f) ~= "function" then
    error(where() .. "bad argument #1 to 'load' (function expected, got " .. type(f) .. ")", 0)
  end
  local parts = {}
  while true do
    local piece = f()
    if piece == nil or piece == "" then break end
    if type(piece) ~= "string" then return nil, "reader function must return a string" end
    parts[#parts + 1] = piece
  end
  return safe_loadstring(tconcat(parts), name or "=(load)", nil)
end

local function compile(body, name, env)
  local fn, err = safe_loadstring(body, name, env)
  if not fn then return nil, err end
  return fn, false
end

-- ---------------------------------------------------------------------------
-- Libraries implemented in Python (bit, cjson): tables of wrapped functions.
for libname, lib in pairs(py.libs) do
  local t = {}
  for k, v in pairs(lib) do t[k] = v end
  rawset(G, libname, t)
end


-- ---------------------------------------------------------------------------
-- Seal the globals: every table reachable from them becomes a read-only proxy.
local function seal(real, seen)
  if protected[real] then return real end
  if seen[real] then return seen[real] end
  local p = proxy_of(real)
  seen[real] = p
  for k, v in next, real do
    if type(v) == "table" and k ~= "_G" then
      rawset(real, k, seal(v, seen))
    end
  end
  return p
end

local function pack(...) return {n = select("#", ...), ...} end
rawset(G, "pcall", function(...)
  -- Redis's pcall hands back the message of an error table (luaRedisPcall).
  local res = pack(pcall(...))
  if res[1] == false and type(res[2]) == "userdata" then res[2] = error_value(res[2]) end
  if res[1] == false and type(res[2]) == "table" then
    local e = rawget(res[2], "err")
    if type(e) == "string" then res[2] = e end
  end
  return unpack(res, 1, res.n)
end)
rawset(G, "redis", redis)
rawset(G, "__redis__err__handler", err_handler)
rawset(G, "loadstring", function(s, name) return safe_loadstring(s, name, nil) end)
rawset(G, "load", safe_load)
rawset(G, "rawset", function(t, k, v)
  if protected[t] or reals[t] then error("Attempt to modify a readonly table", 0) end
  return rawset(t, k, v)
end)
rawset(G, "rawget", function(t, k)
  local real = protected[t]
  if real then return rawget(real, k) end
  return rawget(t, k)
end)
local function proxy_next(t, k)
  local real = protected[t]
  if real then
    local nk, nv = next(real, k)
    if nk == "_G" and real == G then return nk, G_proxy end
    return nk, nv
  end
  return next(t, k)
end
rawset(G, "next", proxy_next)
rawset(G, "pairs", function(t)
  if type(t) ~= "table" then error(where() .. "bad argument #1 to 'pairs' (table expected, got " .. type(t) .. ")", 0) end
  return proxy_next, t, nil
end)
rawset(G, "ipairs", function(t)
  if type(t) ~= "table" then error(where() .. "bad argument #1 to 'ipairs' (table expected, got " .. type(t) .. ")", 0) end
  local real = protected[t] or t
  return function(_, i)
    i = i + 1
    local v = rawget(real, i)
    if v ~= nil then return i, v end
  end, t, 0
end)
rawset(G, "setmetatable", function(t, mt)
  if protected[t] or reals[t] then error("Attempt to modify a readonly table", 0) end
  return setmetatable(t, mt)
end)
rawset(G, "getfenv", function(f)
  local env
  if f == nil then f = 1 end
  if type(f) == "number" then
    if f == 0 then env = getfenv(0) else env = getfenv(f + 2) end
  else
    env = getfenv(f)
  end
  if env == G or env == LG then return G_proxy end
  return env
end)
rawset(G, "setfenv", function(f, t)
  if type(f) == "number" and f > 0 then f = f + 2 end
  if type(f) == "function" and (getfenv(f) == SEALED or getfenv(f) == G or getfenv(f) == LG) then
    error("Attempt to modify a readonly table", 0)
  end
  local r = setfenv(f, t)
  if r == G or r == LG then return G_proxy end
  return r
end)

-- Builtins that may raise are called through a Python trampoline: for Lua that is a C
-- function, so `return rawset(...)` keeps the script's frame (and the error position)
-- as Redis's C builtins do.
for _, name in ipairs({"rawset", "rawget", "setmetatable", "getfenv", "setfenv", "pairs",
                       "ipairs", "loadstring", "load"}) do
  rawset(G, name, py.trampoline(rawget(G, name)))
end
rawset(G.math, "random", py.trampoline(random))
rawset(G.math, "randomseed", py.trampoline(randomseed))

local seen = {}
G_proxy = seal(G, seen)
rawset(G, "_G", G_proxy)
-- getmetatable(_G) is Redis's error metatable, read-only like every table scripts see.
dgetmetatable(G_proxy).__metatable = proxy_of({
  __index = function(_, name)
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
  end,
})
-- Reading an undeclared global is an error (luaSetErrorMetatable); writing is refused.
setmetatable(G, {
  __index = function(_, name)
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
  end,
  __newindex = readonly_error,
  __metatable = false,
})
-- Strings' methods come from the sealed string library.
local smt = getmetatable("")
smt.__index = rawget(G, "string")
smt.__metatable = proxy_of({__index = rawget(G, "string")})

-- ---------------------------------------------------------------------------
-- FUNCTION libraries (function_lua.c): their own empty global table over the same
-- globals; while a library loads, its globals are only the load API (a `redis`
-- with register_function, log and the version), then the full globals.
local load_redis = {register_function = py.register_function, log = py.log,
                    LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
                    REDIS_VERSION = py.version, REDIS_VERSION_NUM = py.version_num}
local function missing_global(_, name)
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end
setmetatable(load_redis, {__index = missing_global})
local LOAD_API = {redis = proxy_of(load_redis)}
setmetatable(LOAD_API, {
  __index = function(_, name)
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
  end,
  __newindex = readonly_error,
  __metatable = false,
})
reals[LOAD_API] = true
local fmeta = {__index = G, __newindex = readonly_error, __metatable = false}
local FENV = setmetatable({}, fmeta)
protected[FENV] = G

local function load_timeout_hook(event)
  if event == "line" and getinfo(2, "S").source == SELF then return end
  if py.load_timed_out() then
    sethook(load_timeout_hook, "l")
    error(error_table("FUNCTION LOAD timeout"))
  end
end

-- Compiles and runs a library's code; returns (true) or (false, message).
local function load_library(code)
  local fn, err = safe_loadstring(code, "@user_function", FENV)
  if not fn then return false, "Error compiling function: " .. tostring(err) end
  fmeta.__index = LOAD_API
  sethook(load_timeout_hook, "", 100000)
  local ok, res = pcall(fn)
  sethook()
  fmeta.__index = G
  if not ok then
    if type(res) == "userdata" then res = error_value(res) end
    local msg
    if type(res) == "table" then
      msg = rawget(res, "err")
    else
      msg = "ERR " .. tostring(res)
    end
    return false, "Error registering functions: " .. tostring(msg)
  end
  return true, false
end

-- luaL_where(L, 1) for a Python library function (a C function for Lua): the line of
-- its caller, nothing when that caller is C too (pcall(cjson.encode, ...)).
local function lib_where()
  local i = getinfo(3, "Sl")
  if i and i.what ~= "C" and i.currentline > 0 then
    return i.short_src .. ":" .. i.currentline .. ": "
  end
  return ""
end

local api = {invoke = invoke, invoke_args = invoke_args, load_library = load_library, compile = compile, error_table = error_table, where = lib_where,
             globals = G, proxy = G_proxy}
function api.new_env()
  -- A separate, sealed global table over the same libraries (function libraries).
  local env_real = {}
  for k, v in next, G do env_real[k] = v end
  local p = proxy_of(env_real)
  rawset(env_real, "_G", p)
  setmetatable(env_real, {
    __index = function(_, name)
      error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
    end,
    __newindex = readonly_error,
    __metatable = false,
  })
  return p, env_real
end
function api.set_raw(t, k, v) rawset(t, k, v) end
function api.setfenv(f, env) setfenv(f, env) return f end
function api.memory() return G.collectgarbage("count") * 1024 end
return api
