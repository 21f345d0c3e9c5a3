-- nvp.checkpoint (safetensors) and the engine's atomic writer / bounded reader (engine/src/io/file.c).
local ffi = require "ffi"
local T = require "nvp.tensor"
local json = require "nvp.json"
local checkpoint = require "nvp.checkpoint"

pcall(ffi.cdef, [[
struct nvp_spec_rlimit { uint64_t cur, max; };
int getrlimit(int resource, struct nvp_spec_rlimit *rlim);
int setrlimit(int resource, const struct nvp_spec_rlimit *rlim);
typedef void (*nvp_spec_sighandler)(int);
nvp_spec_sighandler signal(int sig, nvp_spec_sighandler handler);
]])
local RLIMIT_FSIZE, SIGXFSZ = 1, 25 -- Linux x86-64

local function slurp(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

local function write(path, bytes)
    local f = assert(io.open(path, "wb"))
    f:write(bytes)
    f:close()
    return path
end

local function u64_le(n)
    local b = {}
    for i = 1, 8 do
        b[i] = string.char(n % 256)
        n = math.floor(n / 256)
    end
    return table.concat(b)
end

local function f32_bytes(values)
    local buf = ffi.new("float[?]", #values, values)
    return ffi.string(buf, 4 * #values)
end

-- A hand-made safetensors file: header text (as given) and data bytes; len overrides N.
local function raw_file(path, header, data, len)
    return write(path, u64_le(len or #header) .. header .. (data or ""))
end

-- Entries in the dir whose name contains ".tmp."
local function temp_files(dir)
    local found = {}
    for name in require("lfs").dir(dir) do
        if name:find(".tmp.", 1, true) then found[#found + 1] = name end
    end
    return found
end

local function same_bytes(a, b, nbytes)
    return ffi.string(a, nbytes) == ffi.string(b, nbytes)
end

describe("checkpoint (safetensors)", function()
    local dir
    setup(function() dir = tmpdir() end)
    teardown(function() os.execute("rm -rf " .. dir) end)

    local function sample()
        local rng = spec_rng(11)
        local i64 = ffi.new("int64_t[3]", {-1, 2 ^ 40, 7})
        local u8 = ffi.new("uint8_t[5]", {0, 1, 128, 254, 255})
        return {
            ["coupling1.w"] = rng:normal(T.empty{5, 3, 3, 3}),
            ["coupling1.b"] = rng:normal(T.empty{5}),
            ["bn.running_var"] = rng:uniform(T.empty{7, 1}),
            empty = T.empty{0, 4},
            step = {dtype = "I64", shape = {3}, data = i64},
            mask = {dtype = "U8", shape = {5, 1}, data = u8},
        }, {step = "1200", recipe = "cifar10 \"realnvp\" é"}
    end

    it("round-trips tensors and metadata bit for bit, deterministically", function()
        local tensors, meta = sample()
        local path = dir .. "/a.safetensors"
        assert.is_true(checkpoint.save(path, tensors, meta))
        local back, meta2 = assert(checkpoint.load(path))
        assert.are.same(meta, meta2)
        local names = 0
        for name, t in pairs(tensors) do
            names = names + 1
            local b = back[name]
            assert.are.same(t.shape, b.shape)
            if T.is_tensor(t) then
                assert.is_true(T.is_tensor(b))
                assert.is_true(same_bytes(t.data, b.data, 4 * t.numel), name)
            else
                assert.are.equal(t.dtype, b.dtype)
                local size = ({I64 = 8, U8 = 1})[t.dtype]
                assert.is_true(same_bytes(t.data, b.data, size * b.numel), name)
            end
        end
        assert.are.equal(6, names)
        assert.are.equal(2 ^ 40, tonumber(back.step.data[1]))
        -- saving the loaded tensors again gives the same file
        local path2 = dir .. "/b.safetensors"
        assert.is_true(checkpoint.save(path2, back, meta2))
        assert.are.equal(slurp(path), slurp(path2))
        assert.are.same({}, temp_files(dir))
    end)

    it("writes the safetensors layout: u64 length, sorted space-padded header, packed data", function()
        local a = T.from_table({1, 2, 3, 4, 5, 6}, {2, 3})
        local b = T.from_table({-1}, {1})
        local path = dir .. "/layout.safetensors"
        assert(checkpoint.save(path, {b = b, a = a}, {k = "v"}))
        local bytes = slurp(path)
        local header = '{"__metadata__":{"k":"v"},"a":{"data_offsets":[0,24],"dtype":"F32","shape":[2,3]},'
            .. '"b":{"data_offsets":[24,28],"dtype":"F32","shape":[1]}}'
        header = header .. (" "):rep((8 - #header % 8) % 8)
        assert.are.equal(0, #header % 8)
        assert.are.equal(u64_le(#header) .. header .. f32_bytes{1, 2, 3, 4, 5, 6, -1}, bytes)
    end)

    it("is readable by an independent parser (python3, numpy if installed)", function()
        local py = "/usr/bin/python3"
        if not io.open(py) then
            pending("no /usr/bin/python3")
            return
        end
        local tensors, meta = sample()
        local path = dir .. "/py.safetensors"
        assert(checkpoint.save(path, tensors, meta))
        local script = [[
import json, struct, sys
p = sys.argv[1]
raw = open(p, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
data = raw[8 + n:]
try:
    import numpy as np
    def values(dt, b):
        return np.frombuffer(b, dtype={"F32": "<f4", "I64": "<i8", "U8": "u1"}[dt]).tolist()
except ImportError:
    def values(dt, b):
        f = {"F32": "f", "I64": "q", "U8": "B"}[dt]
        return list(struct.unpack("<%d%s" % (len(b) // struct.calcsize(f), f), b))
print(h["__metadata__"]["step"], h["__metadata__"]["recipe"].encode("utf-8").hex())
for k in sorted(h):
    if k == "__metadata__": continue
    e = h[k]
    b, en = e["data_offsets"]
    v = values(e["dtype"], data[b:en])
    ends = (repr(float(v[0])), repr(float(v[-1]))) if v else ("-", "-")
    print(k, e["dtype"], "x".join(map(str, e["shape"])), len(v), *ends)
]]
        write(dir .. "/check.py", script)
        local p = io.popen(py .. " " .. dir .. "/check.py " .. path .. " 2>&1")
        local out = p:read("*a")
        p:close()
        local lines = {}
        for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
        local hex = meta.recipe:gsub(".", function(c) return ("%02x"):format(c:byte()) end)
        assert.are.equal("1200 " .. hex, lines[1], out)
        local function py_float(x) -- Python's repr(float(x)) for a float32 value: shortest round-trip
            for digits = 1, 17 do
                local s = ("%." .. digits .. "g"):format(x)
                if tonumber(s) == x then
                    if not s:find("[.e]") then s = s .. ".0" end
                    return (s:gsub("e%+?(%-?)0*(%d%d)", "e%1%2"))
                end
            end
        end
        local w = tensors["coupling1.w"]
        local expect = {
            "bn.running_var F32 7x1 7 " .. py_float(tensors["bn.running_var"].data[0]) .. " "
                .. py_float(tensors["bn.running_var"].data[6]),
            "coupling1.b F32 5 5 " .. py_float(tensors["coupling1.b"].data[0]) .. " "
                .. py_float(tensors["coupling1.b"].data[4]),
            "coupling1.w F32 5x3x3x3 135 " .. py_float(w.data[0]) .. " " .. py_float(w.data[134]),
            "empty F32 0x4 0 - -",
            "mask U8 5x1 5 0.0 255.0",
            "step I64 3 3 -1.0 7.0",
        }
        for i, e in ipairs(expect) do assert.are.equal(e, lines[i + 1], out) end
    end)

    it("keeps the old checkpoint when a save fails, and leaves no temporary file", function()
        local path = dir .. "/keep.safetensors"
        local tensors, meta = sample()
        assert(checkpoint.save(path, tensors, meta))
        local before = slurp(path)
        local big = {w = T.zeros{64, 64, 3, 3}}

        -- a short write: the file size limit stands in for a full disk
        local lim = ffi.new("struct nvp_spec_rlimit")
        assert.are.equal(0, ffi.C.getrlimit(RLIMIT_FSIZE, lim))
        local saved_cur = lim.cur
        local old_handler = ffi.C.signal(SIGXFSZ, ffi.cast("nvp_spec_sighandler", 1)) -- SIG_IGN
        lim.cur = 4096
        assert.are.equal(0, ffi.C.setrlimit(RLIMIT_FSIZE, lim))
        local ok, err = checkpoint.save(path, big)
        lim.cur = saved_cur
        assert.are.equal(0, ffi.C.setrlimit(RLIMIT_FSIZE, lim))
        ffi.C.signal(SIGXFSZ, old_handler)
        assert.is_nil(ok)
        assert.are.equal(path .. ": cannot write: File too large", err)
        assert.are.equal(before, slurp(path))
        assert.are.same({}, temp_files(dir))

        -- an unwritable location
        ok, err = checkpoint.save(dir .. "/no/such/dir/x.safetensors", big)
        assert.is_nil(ok)
        assert.are.equal(dir .. "/no/such/dir/x.safetensors: cannot write: No such file or directory", err)

        -- a directory in the way of the rename
        assert(require("lfs").mkdir(dir .. "/occupied"))
        ok, err = checkpoint.save(dir .. "/occupied", big)
        assert.is_nil(ok)
        assert.are.equal(dir .. "/occupied: cannot replace: Is a directory", err)
        assert.are.same({}, temp_files(dir))
        assert.are.equal(before, slurp(path))
        -- and a successful save then replaces it
        assert(checkpoint.save(path, big))
        assert.are.same({64, 64, 3, 3}, assert(checkpoint.load(path)).w.shape)
    end)

    it("rejects misuse with an error", function()
        assert.matches("metadata step = 5: keys and values must be strings",
            error_of(checkpoint.save, dir .. "/m", {}, {step = 5}), 1, true)
        assert.matches("tensor 'x' is a number", error_of(checkpoint.save, dir .. "/m", {x = 1}), 1, true)
        assert.matches("tensor 'x' has dtype BF16 (supported: F32, F64, I32, I64, U8)",
            error_of(checkpoint.save, dir .. "/m", {x = {dtype = "BF16", shape = {1}, data = ffi.new("float[1]")}}),
            1, true)
        assert.matches("bad tensor name __metadata__",
            error_of(checkpoint.save, dir .. "/m", {__metadata__ = T.zeros{1}}), 1, true)
    end)

    describe("refuses hostile files with a one-line message naming the file and field", function()
        local function case(name, header, data, len)
            local path = raw_file(dir .. "/" .. name .. ".safetensors", header, data, len)
            local t, err = checkpoint.load(path)
            assert.is_nil(t)
            assert.is_nil(err:find("\n"))
            assert.are.equal(path .. ": ", err:sub(1, #path + 2))
            return err:sub(#path + 3)
        end
        local d24 = f32_bytes{1, 2, 3, 4, 5, 6}

        it("missing, too short, header length absurd", function()
            local t, err = checkpoint.load(dir .. "/nope.safetensors")
            assert.is_nil(t)
            assert.are.equal(dir .. "/nope.safetensors: cannot open: No such file or directory", err)
            local path = write(dir .. "/short.safetensors", "\1\2\3\4\5")
            t, err = checkpoint.load(path)
            assert.is_nil(t)
            assert.are.equal(path .. ": truncated: 5 bytes, too short for the 8-byte header length", err)
            assert.are.equal("header length 1000 is past the end of the file (20 bytes; truncated?)",
                case("past", '{"a":1}', "abcde", 1000))
            assert.are.equal("header length 1099511627776 is absurd (more than 104857600 bytes)",
                case("huge", "{}", "", 2 ^ 40))
            path = write(dir .. "/huge2.safetensors", ("\255"):rep(8) .. "{}")
            t, err = checkpoint.load(path)
            assert.is_nil(t)
            assert.are.equal(path .. ": header length 18446744073709551615 is absurd (more than 104857600 bytes)", err)
        end)

        it("bad JSON, not an object, bad entries", function()
            assert.are.equal("header is not valid JSON: at byte 6 (line 1, column 6): unexpected character '}'",
                case("json", '{"a":}'))
            assert.are.equal("header is not a JSON object", case("arr", "[1]"))
            assert.are.equal("tensor 'a': expected an object {dtype, shape, data_offsets}", case("ent", '{"a":[]}'))
            assert.are.equal("tensor 'a': unknown dtype 'BF16' (supported: F32, F64, I32, I64, U8)",
                case("dtype", '{"a":{"dtype":"BF16","shape":[6],"data_offsets":[0,12]}}', d24:sub(1, 12)))
            assert.are.equal("tensor 'a': missing shape (an array of sizes)",
                case("noshape", '{"a":{"dtype":"F32","data_offsets":[0,24]}}', d24))
            assert.are.equal("tensor 'a': shape entry 2 is -3, not a size",
                case("negshape", '{"a":{"dtype":"F32","shape":[2,-3],"data_offsets":[0,24]}}', d24))
            assert.are.equal("tensor 'a': data_offsets [24,0] are not [begin, end] with 0 <= begin <= end",
                case("backwards", '{"a":{"dtype":"F32","shape":[6],"data_offsets":[24,0]}}', d24))
            assert.are.equal("tensor 'a': rank-0 (scalar) tensors are not supported",
                case("scalar", '{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}', d24:sub(1, 4)))
        end)

        it("shape against offsets, offsets past the end, overlaps, gaps, trailing bytes", function()
            assert.are.equal("tensor 'a': data_offsets [0, 20] hold 20 bytes but F32 (2,3) needs 24",
                case("mismatch", '{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}', d24:sub(1, 20)))
            assert.are.equal("tensor 'a': data_offsets [0, 24] go past the end of the data section "
                .. "(20 bytes; truncated?)",
                case("trunc", '{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}', d24:sub(1, 20)))
            assert.are.equal("tensors 'a' and 'b' overlap (bytes [0, 24) and [16, 24))",
                case("overlap", '{"a":{"dtype":"F32","shape":[6],"data_offsets":[0,24]},'
                    .. '"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}', d24))
            assert.are.equal("tensor 'b': gap of 8 bytes before its data_offsets [32, 40]",
                case("gap", '{"a":{"dtype":"F32","shape":[6],"data_offsets":[0,24]},'
                    .. '"b":{"dtype":"F32","shape":[2],"data_offsets":[32,40]}}', d24 .. d24:sub(1, 16)))
            assert.are.equal("4 bytes after the last tensor's data (the data section has 24)",
                case("trailing", '{"a":{"dtype":"F32","shape":[5],"data_offsets":[0,20]}}', d24))
        end)

        it("metadata that is not strings", function()
            assert.are.equal("__metadata__ field 'step' is 5, not a string",
                case("meta", '{"__metadata__":{"a":"x","step":5}}'))
            assert.are.equal("__metadata__ is not an object of strings", case("meta2", '{"__metadata__":"x"}'))
        end)
    end)
end)

describe("engine file I/O", function()
    local dir
    setup(function() dir = tmpdir() end)
    teardown(function() os.execute("rm -rf " .. dir) end)

    it("writes chunks atomically and reads bounded ranges", function()
        local path = dir .. "/f.bin"
        local s1, s3 = "abc", "defgh"
        local chunks = ffi.new("const void *[3]")
        chunks[0], chunks[1], chunks[2] = s1, nil, s3
        local sizes = ffi.new("int64_t[3]", {3, 0, 5})
        assert.are.equal(0, NVP.nvp_file_write_atomic(path, chunks, sizes, 3))
        assert.are.equal(s1 .. s3, slurp(path))
        local size = ffi.new("int64_t[1]")
        assert.are.equal(0, NVP.nvp_file_size(size, path))
        assert.are.equal(8, tonumber(size[0]))
        local buf = ffi.new("char[8]")
        assert.are.equal(0, NVP.nvp_file_read_at(buf, path, 2, 6))
        assert.are.equal("cdefgh", ffi.string(buf, 6))
        assert.are.equal(0, NVP.nvp_file_read_at(buf, path, 8, 0))
        assert.are.equal(NVP.NVP_STATUS_BAD_FORMAT, NVP.nvp_file_read_at(buf, path, 3, 6))
        assert.are.equal(path .. ": cannot read bytes [3, 9): the file has 8 bytes", ffi.string(NVP.nvp_last_error()))
        assert.are.equal(NVP.NVP_STATUS_BAD_FORMAT, NVP.nvp_file_read_at(buf, path, 2 ^ 62, 2 ^ 62))
        assert.are.equal(NVP.NVP_STATUS_BAD_ARG, NVP.nvp_file_read_at(buf, path, -1, 2))
        assert.are.equal(NVP.NVP_STATUS_IO, NVP.nvp_file_size(size, dir))
        assert.are.equal(dir .. ": not a regular file", ffi.string(NVP.nvp_last_error()))
        sizes[1] = 4
        assert.are.equal(NVP.NVP_STATUS_BAD_ARG, NVP.nvp_file_write_atomic(path, chunks, sizes, 3))
        assert.are.equal(path .. ": chunk 1 (4 bytes) is NULL", ffi.string(NVP.nvp_last_error()))
        assert.are.equal("abcdefgh", slurp(path))
        assert.are.equal(0, NVP.nvp_file_write_atomic(path, nil, nil, 0))
        assert.are.equal("", slurp(path))
    end)
end)
