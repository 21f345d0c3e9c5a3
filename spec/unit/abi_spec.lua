-- The FFI's view of the engine's structs must match the C compiler's (the ljsyscall check).
local ffi = require "ffi"

describe("ABI", function()
    it("nvp_images has the same size and field offsets in Lua and C", function()
        assert.are.equal(tonumber(NVP.nvp_abi_sizeof_images()), ffi.sizeof("nvp_images"))
        for i, field in ipairs{"data", "count", "channels", "height", "width"} do
            assert.are.equal(tonumber(NVP.nvp_abi_offsetof_images(i - 1)), ffi.offsetof("nvp_images", field), field)
        end
    end)

    it("status codes are the ones the header names", function()
        assert.are.equal(0, ffi.new("nvp_status", "NVP_OK"))
        assert.are.equal(2, ffi.new("nvp_status", "NVP_STATUS_BAD_SHAPE"))
    end)
end)

-- The shared library exports the API of nvp.h and nothing else (-fvisibility=hidden; the kernels'
-- _ref/_avx2/_avx512 variants are internal, reached through each op's table).
describe("exported symbols", function()
    local here = debug.getinfo(1, "S").source:match("^@(.*)/spec/unit/[^/]*$") or "."
    local function header_functions()
        local f = assert(io.open(here .. "/engine/include/nvp.h"))
        local text = f:read("*a")
        f:close()
        local section = assert(text:match("/%* NVP_FFI_BEGIN %*/(.-)/%* NVP_FFI_END %*/"), "FFI markers")
        section = section:gsub("/%*.-%*/", "")
        local names = {}
        for name in section:gmatch("[%w_%*]%s*%**%s*(nvp_[%w_]+)%s*%(") do names[name] = true end
        return names
    end
    local function loaded_library()
        for line in io.lines("/proc/self/maps") do
            local path = line:match("%s(/%S*libnvp%.so[%.%d]*)$")
            if path then return path end
        end
    end

    it("nvp.h declares no ISA variant (_ref, _avx2, _avx512)", function()
        local bad = {}
        for name in pairs(header_functions()) do
            if name:match("_ref$") or name:match("_avx2$") or name:match("_avx512$") then bad[#bad + 1] = name end
        end
        table.sort(bad)
        assert.are.same({}, bad)
    end)

    it("every function libnvp exports starts with nvp_ and is declared in nvp.h, and vice versa", function()
        local lib = loaded_library()
        if not lib then pending("libnvp is not a shared library in this process") return end
        local declared = header_functions()
        local p = assert(io.popen("nm -D --defined-only '" .. lib .. "' 2>&1"))
        local exported, stray = {}, {}
        for line in p:lines() do
            local kind, name = line:match("^%x*%s+(%a)%s+(%S+)$")
            if kind and kind:match("[TtWiI]") then
                exported[name] = true
                if not (name:match("^nvp_") and declared[name]) then stray[#stray + 1] = name end
            elseif kind and kind:match("[BDGRSV]") and not name:match("^%.gomp_critical_user_") then
                -- data: only OpenMP's named-critical locks (GCC makes them global) may show
                stray[#stray + 1] = name
            end
        end
        p:close()
        assert.is_true(next(exported) ~= nil, "nm -D listed nothing for " .. lib)
        table.sort(stray)
        assert.are.same({}, stray)
        local missing = {}
        for name in pairs(declared) do
            if not exported[name] then missing[#missing + 1] = name end
        end
        table.sort(missing)
        assert.are.same({}, missing)
    end)
end)

describe("CPU path and conv algorithm switches", function()
    local ffi = require "ffi"
    local nffi = require "nvp.ffi"
    it("nvp_set_cpu_path takes the paths this CPU has, names what it lacks, and keeps the path on failure", function()
        local saved = ffi.string(NVP.nvp_cpu_path())
        assert.are.equal(1, NVP.nvp_cpu_supports("scalar"))
        assert.are.equal(0, NVP.nvp_cpu_supports("sse"))
        for _, path in ipairs{"scalar", "avx2", "avx512"} do
            local st = NVP.nvp_set_cpu_path(path)
            if NVP.nvp_cpu_supports(path) == 1 then
                assert.are.equal(0, st)
                assert.are.equal(path, ffi.string(NVP.nvp_cpu_path()))
            else
                assert.are.equal(6, st)
                assert.matches('^nvp_set_cpu_path: "' .. path .. '" needs .*, which this CPU lacks$', nffi.last_error())
            end
        end
        assert.are.equal(0, NVP.nvp_set_cpu_path(saved))
        assert.are.equal(1, NVP.nvp_set_cpu_path("sse4"))
        assert.are.equal('nvp_set_cpu_path: unknown path "sse4" (scalar, avx2 or avx512)', nffi.last_error())
        assert.are.equal(1, NVP.nvp_set_cpu_path(nil))
        assert.are.equal(saved, ffi.string(NVP.nvp_cpu_path()))
    end)

    it("the environment chooses the start-up path once (NVP_FORCE_SCALAR, NVP_NO_AVX512)", function()
        local function path_of(env)
            local p = io.popen(env .. " " .. nvp_exe() .. " -e 'io.write(require(\"ffi\").string(require(\"nvp.ffi\").C.nvp_cpu_path()))'")
            local out = p:read("*a")
            p:close()
            return out
        end
        assert.are.equal("scalar", path_of("NVP_FORCE_SCALAR=1"))
        local best = NVP.nvp_cpu_supports("avx512") == 1 and "avx512" or NVP.nvp_cpu_supports("avx2") == 1 and "avx2"
            or "scalar"
        assert.are.equal(best, path_of("env -u NVP_FORCE_SCALAR -u NVP_NO_AVX512"))
        assert.are.equal(best == "avx512" and "avx2" or best, path_of("env -u NVP_FORCE_SCALAR NVP_NO_AVX512=1"))
    end)
end)
