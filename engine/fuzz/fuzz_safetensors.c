/*
 * fuzz_safetensors.c -- libFuzzer harness for the checkpoint reader: the safetensors header and its
 * offsets are checked in Lua (lua/nvp/checkpoint.lua, with the strict JSON of lua/nvp/json.lua) and
 * read through the engine (nvp_file_size, nvp_file_read_at, nvp_alloc), so the harness embeds LuaJIT
 * and calls checkpoint.load on every input, exactly as `nvp eval` does.
 *
 * A Lua error (load must return nil and a message, never raise), a refusal whose message is not one
 * line starting with the path, a sanitizer report in the engine, or a success whose tensors cannot be
 * read in full, aborts. libFuzzer only sees the coverage of C code, so a line hook feeds the Lua lines
 * run (as edges: previous line, this line) into libFuzzer's extra counters; the JIT is off so that
 * every line reaches the hook.
 */
#include "fuzz_file.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <luajit.h>

#include <stdio.h>
#include <stdlib.h>

#define LUA_EDGES (1 << 16)

__attribute__((section("__libfuzzer_extra_counters"))) static uint8_t lua_edges[LUA_EDGES];
static uintptr_t previous_line;
static lua_State *L;
static int check_ref;

static void line_hook(lua_State *hooked, lua_Debug *ar) {
    if (lua_getinfo(hooked, "S", ar) == 0) return;
    uintptr_t here = (uintptr_t)ar->source * 31u ^ (uintptr_t)ar->currentline * 2654435761u;
    lua_edges[(here ^ previous_line >> 1) % LUA_EDGES]++;
    previous_line = here;
}

static const char CHECK[] =
    "local ffi = require 'ffi'\n"
    "local checkpoint = require 'nvp.checkpoint'\n"
    "return function(path)\n"
    "    local tensors, err = checkpoint.load(path)\n"
    "    if tensors == nil then\n"
    "        if type(err) ~= 'string' or err:find('\\n') or err:sub(1, #path + 2) ~= path .. ': ' then\n"
    "            error('not a one-line refusal naming the file: ' .. tostring(err))\n"
    "        end\n"
    "        return\n"
    "    end\n"
    "    for name, t in pairs(tensors) do\n"
    "        local size = t.dtype and checkpoint.DTYPES[t.dtype].size or 4\n"
    "        if t.numel > 0 then ffi.string(t.data, size * t.numel) end\n"
    "    end\n"
    "end\n";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    L = luaL_newstate();
    luaL_openlibs(L);
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    lua_getglobal(L, "package");
    lua_pushstring(L, NVP_BINARY_LUA_DIR "/?.lua;" NVP_SOURCE_LUA_DIR "/?.lua");
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    if (luaL_loadstring(L, CHECK) != 0 || lua_pcall(L, 0, 1, 0) != 0) {
        fprintf(stderr, "fuzz_safetensors: set-up failed: %s\n", lua_tostring(L, -1));
        abort();
    }
    check_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_sethook(L, line_hook, LUA_MASKLINE, 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static unsigned runs;
    const char *path = fuzz_file_of(data, size);
    previous_line = 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, check_ref);
    lua_pushstring(L, path);
    if (lua_pcall(L, 1, 0, 0) != 0) {
        fprintf(stderr, "fuzz_safetensors: %s\n", lua_tostring(L, -1));
        abort();
    }
    if (++runs % 256 == 0) lua_gc(L, LUA_GCCOLLECT, 0); /* tensors are freed by the collector */
    return 0;
}
