-- End-to-end: the nvp executable's exit codes and one-line errors.
local function run(cmdline)
    local p = io.popen(cmdline .. " 2>&1; echo \"rc=$?\"")
    local out = p:read("*a")
    p:close()
    local rc = tonumber(out:match("rc=(%d+)%s*$"))
    return out:gsub("rc=%d+%s*$", ""), rc
end

describe("the nvp host", function()
    local exe = nvp_exe()
    local dir

    setup(function() dir = tmpdir() end)
    teardown(function() os.execute("rm -rf " .. dir) end)

    it("prints its version, LuaJIT, the CPU path, threads and OpenBLAS's kernel set", function()
        local out, rc = run(exe .. " --version")
        assert.are.equal(0, rc)
        assert.matches("^nvp %d+%.%d+%.%d+ %(LuaJIT 2%.1[^,]*, cpu path (%w+), %d+ threads, OpenBLAS kernels %w+%)", out)
        local path = out:match("cpu path (%w+)")
        assert.is_true(path == "avx512" or path == "avx2" or path == "scalar")
        if os.getenv("NVP_FORCE_SCALAR") == "1" then assert.are.equal("scalar", path) end
    end)

    it("honours NVP_THREADS and NVP_NO_AVX512", function()
        local out = run("NVP_THREADS=1 " .. exe .. " --version")
        assert.matches(", 1 threads,", out)
        out = run("NVP_NO_AVX512=1 " .. exe .. " --version")
        assert.is_nil(out:match("cpu path avx512"))
    end)

    it("runs -e chunks with overrides", function()
        local out, rc = run(exe .. [[ -e 'local o = ...; print(o.train.lr * 2)' train.lr=0.5]])
        assert.are.equal(0, rc)
        assert.are.equal("1\n", out)
    end)

    it("prints a seeded random tensor's mean the same way every time", function()
        local cmd = exe .. [[ -e 'print(string.format("%.6f", require("nvp.tensor").randn({1000}, 7):mean()))']]
        local a = run(cmd)
        local b = run("NVP_THREADS=1 " .. cmd)
        assert.are.equal(a, b)
        assert.is_true(math.abs(tonumber(a)) < 0.2)
    end)

    it("gives a failing script's file:line on one line and exits 1", function()
        local path = dir .. "/bad.lua"
        local f = assert(io.open(path, "w"))
        f:write("local x = 1\nerror('boom')\n")
        f:close()
        local out, rc = run(exe .. " " .. path)
        assert.are.equal(1, rc)
        assert.are.equal(path .. ":2: boom\n", out)
    end)

    it("passes overrides to a script as ...", function()
        local path = dir .. "/ok.lua"
        local f = assert(io.open(path, "w"))
        f:write("local o = ...\nprint(o.a.b, type(o.a.b), o.flag)\n")
        f:close()
        local out, rc = run(exe .. " " .. path .. " a.b=3 flag=true")
        assert.are.equal(0, rc)
        assert.are.equal("3\tnumber\ttrue\n", out)
    end)

    it("exits 2 on a usage error", function()
        local out, rc = run(exe .. " no_such_verb")
        assert.are.equal(2, rc)
        assert.matches("unknown verb or script 'no_such_verb'", out, 1, true)
        out, rc = run(exe .. " --bogus")
        assert.are.equal(2, rc)
        out, rc = run(exe .. " " .. dir .. "/x.lua notkeyvalue")
        assert.are.equal(2, rc)
        assert.matches("expected key=value, got 'notkeyvalue'", out, 1, true)
    end)

    it("exits 1 naming a missing script", function()
        local out, rc = run(exe .. " " .. dir .. "/missing.lua")
        assert.are.equal(1, rc)
        assert.matches("missing.lua: no such file", out, 1, true)
    end)

    it("exits 1 with one line naming a truncated dataset file", function()
        local data = dir .. "/fm"
        os.execute("mkdir -p " .. data)
        local f = assert(io.open(data .. "/train-images-idx3-ubyte.gz", "wb"))
        f:write("\31\139\8\0\0\0\0\0\0\3") -- a gzip header and nothing else
        f:close()
        local out, rc = run(exe .. " train recipes/demo.lua data.root=" .. data .. " run.dir=" .. dir .. "/run")
        assert.are.equal(1, rc)
        assert.matches("^" .. data:gsub("%p", "%%%0") .. "/train%-images%-idx3%-ubyte%.gz: [^\n]+\n$", out)
    end)

    it("lists its verbs in --help", function()
        local out, rc = run(exe .. " --help")
        assert.are.equal(0, rc)
        assert.matches("\n  version ", out, 1, true)
        assert.matches("\n  help ", out, 1, true)
    end)
end)

describe("the engine outside the host", function()
    local exe = nvp_exe()
    local build = exe:match("^(.*)/[^/]+$")

    it("loads through ffi.load under plain LuaJIT (NVP_LIB)", function()
        local p = io.popen(("NVP_LIB=%s/libnvp.so luajit -e 'package.path = %q .. package.path; "
            .. "print(require(\"nvp.tensor\").randn({1000}, 7):mean())' 2>&1"):format(build,
            build .. "/lua/?.lua;lua/?.lua;lua/?/init.lua;"))
        local out = p:read("*a")
        p:close()
        local inside = io.popen(exe .. [[ -e 'print(require("nvp.tensor").randn({1000}, 7):mean())']]):read("*a")
        assert.are.equal(inside, out)
    end)

    it("finds its Lua library after cmake --install, with no environment", function()
        local prefix = tmpdir()
        assert.is_true(os.execute(("cmake --install %s --prefix %s > /dev/null"):format(build, prefix)) == 0)
        local p = io.popen(("cd / && env -i %s/bin/nvp -e 'print(NVP_LUA_DIR, require(\"nvp.flow\") ~= nil)' 2>&1"):format(prefix))
        local out = p:read("*a")
        p:close()
        os.execute("rm -rf " .. prefix)
        assert.matches("/share/nvp/lua\ttrue", out, 1, true)
    end)
end)
