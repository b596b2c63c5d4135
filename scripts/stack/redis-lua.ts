// Lua scripting for the Redis emulation, on fengari (Lua 5.3 in JavaScript). Implements what
// EVAL needs: KEYS/ARGV, redis.call/pcall/sha1hex/error_reply/status_reply/log, and Redis's
// conversion rules between Lua values and replies (https://redis.io/docs/latest/develop/
// programmability/lua-api/#data-type-conversion). Redis embeds Lua 5.1; the scripts that matter
// here (@upstash/ratelimit's) behave the same on 5.3, and `unpack` is kept as the 5.1 global.
import { createRequire } from 'node:module';
import { ErrorReply, StatusReply, sha1Hex, stripShebang, type Reply } from './redis-reply.ts';

type LuaState = object;
type LuaString = Uint8Array;
type CFunction = (L: LuaState) => number;

/** The part of fengari's API used here (the package ships no type declarations). */
interface Fengari {
  lua: {
    LUA_OK: number;
    LUA_REGISTRYINDEX: number;
    LUA_TNIL: number;
    LUA_TBOOLEAN: number;
    LUA_TNUMBER: number;
    LUA_TSTRING: number;
    LUA_TTABLE: number;
    lua_pcall(L: LuaState, nargs: number, nresults: number, msgh: number): number;
    lua_type(L: LuaState, index: number): number;
    lua_gettop(L: LuaState): number;
    lua_settop(L: LuaState, index: number): void;
    lua_pop(L: LuaState, n: number): void;
    lua_absindex(L: LuaState, index: number): number;
    lua_isinteger(L: LuaState, index: number): boolean;
    lua_tointeger(L: LuaState, index: number): number;
    lua_tonumber(L: LuaState, index: number): number;
    lua_toboolean(L: LuaState, index: number): boolean;
    lua_tolstring(L: LuaState, index: number): LuaString;
    lua_pushnil(L: LuaState): void;
    lua_pushboolean(L: LuaState, value: boolean): void;
    lua_pushinteger(L: LuaState, value: number): void;
    lua_pushnumber(L: LuaState, value: number): void;
    lua_pushstring(L: LuaState, value: LuaString): void;
    lua_pushcfunction(L: LuaState, fn: CFunction): void;
    lua_newtable(L: LuaState): void;
    lua_rawseti(L: LuaState, index: number, n: number): void;
    lua_rawgeti(L: LuaState, index: number, n: number): number;
    lua_getfield(L: LuaState, index: number, key: LuaString): number;
    lua_setfield(L: LuaState, index: number, key: LuaString): void;
    lua_getglobal(L: LuaState, name: LuaString): number;
    lua_setglobal(L: LuaState, name: LuaString): void;
    lua_error(L: LuaState): never;
  };
  lauxlib: {
    luaL_newstate(): LuaState;
    luaL_loadbuffer(L: LuaState, code: LuaString, size: null, name: LuaString): number;
    luaL_ref(L: LuaState, table: number): number;
  };
  lualib: { luaL_openlibs(L: LuaState): void };
  to_luastring(value: string): LuaString;
  to_jsstring(value: LuaString): string;
}

const fengari = createRequire(import.meta.url)('fengari') as Fengari;
const { lua, lauxlib, lualib, to_luastring: luaString, to_jsstring: jsString } = fengari;

const MAX_INTEGER = 2 ** 31 - 1; // fengari's integers are 32-bit; larger numbers travel as floats

// Runs once per state: the sandbox Redis gives scripts, minus what the emulation cannot honour.
const PRELUDE = `
unpack = table.unpack
io, package, require, dofile, loadfile, debug = nil, nil, nil, nil, nil, nil
os = { clock = os.clock }
redis.error_reply = function(message) return { err = message } end
redis.status_reply = function(status) return { ok = status } end
redis.log = function() end
redis.setresp = function() end
redis.set_repl = function() end
redis.replicate_commands = function() return true end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
`;

export interface LuaRuntime {
  /** Runs a script (known by its SHA1) with KEYS and ARGV; returns its reply. */
  run(sha: string, script: string, keys: string[], args: string[]): Reply;
  /** Forgets compiled scripts (SCRIPT FLUSH). */
  flush(): void;
}

/** `call` executes one command for redis.call/pcall and answers synchronously. */
export function createLuaRuntime(call: (args: string[]) => Reply): LuaRuntime {
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  let compiled = new Map<string, number>();

  const callFrom =
    (raise: boolean): CFunction =>
    (state) => {
      const count = lua.lua_gettop(state);
      if (count === 0)
        return fail(
          state,
          raise,
          'ERR Please specify at least one argument for this redis lib call',
        );
      const args: string[] = [];
      for (let i = 1; i <= count; i += 1) {
        const type = lua.lua_type(state, i);
        if (type === lua.LUA_TSTRING) args.push(jsString(lua.lua_tolstring(state, i)));
        else if (type === lua.LUA_TNUMBER) args.push(formatNumber(state, i));
        else
          return fail(
            state,
            raise,
            'ERR Lua redis lib command arguments must be strings or integers',
          );
      }
      const reply = call(args);
      if (reply instanceof ErrorReply) return fail(state, raise, reply.message);
      pushReply(state, reply);
      return 1;
    };

  lua.lua_newtable(L);
  lua.lua_pushcfunction(L, callFrom(true));
  lua.lua_setfield(L, -2, luaString('call'));
  lua.lua_pushcfunction(L, callFrom(false));
  lua.lua_setfield(L, -2, luaString('pcall'));
  lua.lua_pushcfunction(L, (state) => {
    lua.lua_pushstring(state, luaString(sha1Hex(jsString(lua.lua_tolstring(state, 1)))));
    return 1;
  });
  lua.lua_setfield(L, -2, luaString('sha1hex'));
  lua.lua_setglobal(L, luaString('redis'));
  if (
    lauxlib.luaL_loadbuffer(L, luaString(PRELUDE), null, luaString('=prelude')) !== lua.LUA_OK ||
    lua.lua_pcall(L, 0, 0, 0) !== lua.LUA_OK
  ) {
    throw new Error(`Lua prelude failed: ${jsString(lua.lua_tolstring(L, -1))}`);
  }

  return {
    run(sha, script, keys, args) {
      try {
        let ref = compiled.get(sha);
        if (ref === undefined) {
          // Redis compiles the body without its shebang line; Lua itself would refuse `#!`.
          const status = lauxlib.luaL_loadbuffer(
            L,
            luaString(stripShebang(script)),
            null,
            luaString('@user_script'),
          );
          if (status !== lua.LUA_OK) {
            return new ErrorReply(
              `ERR Error compiling script (new function): ${jsString(lua.lua_tolstring(L, -1))}`,
            );
          }
          ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
          compiled.set(sha, ref);
        }
        setArray(L, 'KEYS', keys);
        setArray(L, 'ARGV', args);
        lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, ref);
        if (lua.lua_pcall(L, 0, 1, 0) !== lua.LUA_OK) return scriptError(L, sha);
        return toReply(L, -1);
      } finally {
        lua.lua_settop(L, 0);
      }
    },
    flush() {
      compiled = new Map();
    },
  };
}

function fail(L: LuaState, raise: boolean, message: string): number {
  lua.lua_newtable(L);
  lua.lua_pushstring(L, luaString(message));
  lua.lua_setfield(L, -2, luaString('err'));
  if (raise) lua.lua_error(L);
  return 1;
}

function scriptError(L: LuaState, sha: string): ErrorReply {
  if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
    lua.lua_getfield(L, -1, luaString('err'));
    if (lua.lua_type(L, -1) === lua.LUA_TSTRING)
      return new ErrorReply(jsString(lua.lua_tolstring(L, -1)));
    lua.lua_pop(L, 1);
  }
  const message =
    lua.lua_type(L, -1) === lua.LUA_TSTRING ? jsString(lua.lua_tolstring(L, -1)) : 'error';
  return new ErrorReply(`ERR ${message} script: ${sha}`);
}

/** Numbers as command arguments: integers without a fraction, like Redis's own conversion. */
function formatNumber(L: LuaState, index: number): string {
  if (lua.lua_isinteger(L, index)) return String(lua.lua_tointeger(L, index));
  const value = lua.lua_tonumber(L, index);
  return Number.isFinite(value) ? String(value) : value > 0 ? 'inf' : value < 0 ? '-inf' : 'nan';
}

function setArray(L: LuaState, name: string, values: string[]): void {
  lua.lua_newtable(L);
  values.forEach((value, i) => {
    lua.lua_pushstring(L, luaString(value));
    lua.lua_rawseti(L, -2, i + 1);
  });
  lua.lua_setglobal(L, luaString(name));
}

/** Redis reply → Lua: integer → number, bulk → string, nil → false, status/error → {ok}/{err}. */
function pushReply(L: LuaState, reply: Reply): void {
  if (reply === null) lua.lua_pushboolean(L, false);
  else if (typeof reply === 'number') {
    if (Number.isInteger(reply) && Math.abs(reply) <= MAX_INTEGER) lua.lua_pushinteger(L, reply);
    else lua.lua_pushnumber(L, reply);
  } else if (typeof reply === 'string') lua.lua_pushstring(L, luaString(reply));
  else if (reply instanceof Uint8Array) lua.lua_pushstring(L, reply);
  else if (reply instanceof StatusReply || reply instanceof ErrorReply) {
    lua.lua_newtable(L);
    const isStatus = reply instanceof StatusReply;
    lua.lua_pushstring(L, luaString(isStatus ? reply.status : reply.message));
    lua.lua_setfield(L, -2, luaString(isStatus ? 'ok' : 'err'));
  } else {
    lua.lua_newtable(L);
    reply.forEach((item, i) => {
      pushReply(L, item);
      lua.lua_rawseti(L, -2, i + 1);
    });
  }
}

/**
 * Lua → Redis reply: number → integer (truncated), string → bulk, true → 1, false/nil → nil,
 * {err=...} → error, {ok=...} → status, other tables → arrays up to the first nil.
 */
function toReply(L: LuaState, index: number): Reply {
  const at = lua.lua_absindex(L, index);
  const type = lua.lua_type(L, at);
  if (type === lua.LUA_TNUMBER) {
    return lua.lua_isinteger(L, at)
      ? lua.lua_tointeger(L, at)
      : Math.trunc(lua.lua_tonumber(L, at));
  }
  if (type === lua.LUA_TSTRING) return jsString(lua.lua_tolstring(L, at));
  if (type === lua.LUA_TBOOLEAN) return lua.lua_toboolean(L, at) ? 1 : null;
  if (type !== lua.LUA_TTABLE) return null;
  lua.lua_getfield(L, at, luaString('err'));
  if (lua.lua_type(L, -1) === lua.LUA_TSTRING) {
    const message = jsString(lua.lua_tolstring(L, -1));
    lua.lua_pop(L, 1);
    return new ErrorReply(message);
  }
  lua.lua_pop(L, 1);
  lua.lua_getfield(L, at, luaString('ok'));
  if (lua.lua_type(L, -1) === lua.LUA_TSTRING) {
    const status = jsString(lua.lua_tolstring(L, -1));
    lua.lua_pop(L, 1);
    return new StatusReply(status);
  }
  lua.lua_pop(L, 1);
  const items: Reply[] = [];
  for (let i = 1; ; i += 1) {
    if (lua.lua_rawgeti(L, at, i) === lua.LUA_TNIL) {
      lua.lua_pop(L, 1);
      break;
    }
    items.push(toReply(L, -1));
    lua.lua_pop(L, 1);
  }
  return items;
}
