/*
 * main.c -- the `nvp` executable: LuaJIT with libnvp linked in, so lua/nvp/ffi.lua finds the engine
 * through ffi.C. Everything user-facing (argument parsing, verbs, recipes) is Lua, in lua/nvp/main.lua;
 * this file only finds the Lua tree, runs it under lua_pcall and turns failures into exit codes:
 *   0 success, 1 a failing script or command (one line: file:line: message), 2 a usage error.
 */
#include "nvp.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <luajit.h>

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int file_exists(const char *path) { return access(path, R_OK) == 0; }

/* Directory holding this executable (from /proc/self/exe), or "." if unknown. */
static void exe_dir(char *out, size_t size) {
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) {
        snprintf(out, size, ".");
        return;
    }
    buf[n] = '\0';
    snprintf(out, size, "%s", dirname(buf));
}

/* package.path: the generated bindings first, then the Lua library, then LuaJIT's defaults
 * (where Debian's busted, penlight and lfs live). An installed tree (<prefix>/bin/nvp with
 * <prefix>/share/nvp/lua) wins over the source tree the build was configured from. */
static void set_package_path(lua_State *L, char *lua_dir, size_t size) {
    char dir[PATH_MAX], probe[PATH_MAX + 64], gen_dir[PATH_MAX + 64];
    exe_dir(dir, sizeof dir);
    snprintf(probe, sizeof probe, "%s/../share/nvp/lua/nvp/main.lua", dir);
    if (file_exists(probe)) {
        snprintf(lua_dir, size, "%s/../share/nvp/lua", dir);
        snprintf(gen_dir, sizeof gen_dir, "%s", lua_dir);
    } else {
        snprintf(lua_dir, size, "%s", NVP_SOURCE_LUA_DIR);
        snprintf(gen_dir, sizeof gen_dir, "%s", NVP_BINARY_LUA_DIR);
    }
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    const char *old = lua_tostring(L, -1);
    lua_pushfstring(L, "%s/?.lua;%s/?.lua;%s/?/init.lua;%s", gen_dir, lua_dir, lua_dir, old ? old : "");
    lua_setfield(L, -3, "path");
    lua_pop(L, 2);
}

/* Message handler: keep the message, append a traceback only when NVP_TRACEBACK=1. */
static int traceback(lua_State *L) {
    if (lua_type(L, 1) == LUA_TTABLE) return 1; /* structured errors (usage) pass through */
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) msg = "(error object is not a string)";
    const char *tb = getenv("NVP_TRACEBACK");
    if (tb != NULL && strcmp(tb, "1") == 0) {
        luaL_traceback(L, L, msg, 1);
    } else {
        lua_pushstring(L, msg);
    }
    return 1;
}

int main(int argc, char **argv) {
    nvp_init();
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        fprintf(stderr, "nvp: cannot create a Lua state (out of memory)\n");
        return 1;
    }
    luaL_openlibs(L);
    char lua_dir[PATH_MAX + 64];
    set_package_path(L, lua_dir, sizeof lua_dir);
    lua_pushboolean(L, 1);
    lua_setglobal(L, "NVP_HOST");
    lua_pushstring(L, lua_dir);
    lua_setglobal(L, "NVP_LUA_DIR");

    /* arg, as in the standalone interpreter: arg[0] is the program, arg[1..] the words after it. */
    lua_createtable(L, argc, 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i);
    }
    lua_setglobal(L, "arg");

    lua_pushcfunction(L, traceback);
    int handler = lua_gettop(L);
    lua_getglobal(L, "require");
    lua_pushstring(L, "nvp.main");
    int status = lua_pcall(L, 1, 1, handler);
    if (status == 0) {
        lua_getglobal(L, "arg");
        status = lua_pcall(L, 1, 1, handler);
    }
    int code = 0;
    if (status != 0) {
        code = 1;
        if (lua_type(L, -1) == LUA_TTABLE) { /* {usage = true, message = "..."} from nvp.main */
            lua_getfield(L, -1, "usage");
            if (lua_toboolean(L, -1)) code = 2;
            lua_pop(L, 1);
            lua_getfield(L, -1, "message");
        }
        const char *msg = lua_tostring(L, -1);
        if (msg == NULL) msg = "nvp: unknown error";
        fflush(stdout); /* progress first: under mpirun both streams are forwarded, line by line */
        if (nvp_dist_size() > 1)
            fprintf(stderr, "rank %d of %d: %s\n", nvp_dist_rank(), nvp_dist_size(), msg);
        else
            fprintf(stderr, "%s\n", msg);
    } else if (lua_isnumber(L, -1)) {
        code = (int)lua_tointeger(L, -1);
    }
    fflush(stdout);
    /* Under mpirun (nvp.dist): a failing rank ends every rank, so none waits forever in a collective;
     * a normal exit leaves the job. Both do nothing in a process that joined no job. */
    if (code != 0) nvp_dist_abort(code);
    nvp_dist_finalize();
    lua_close(L);
    return code;
}
