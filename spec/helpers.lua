-- spec/helpers.lua: loaded by busted before every spec file (see .busted).
-- Globals for specs: assert_close, numgrad, NVP (the FFI namespace), spec_rng.
local ffi = require "ffi"
local nffi = require "nvp.ffi"

NVP = nffi.C

--- Assert |actual - expected| <= atol + rtol*|expected| elementwise (numbers, arrays or tensors),
-- printing the first 5 mismatches on failure.
function assert_close(actual, expected, rtol, atol, what)
    rtol, atol = rtol or 1e-5, atol or 1e-6
    local function get(x, i)
        if type(x) == "number" then return x end
        if type(x) == "table" and x.data and x.numel then return x.data[i - 1] end
        return x[i]
    end
    local function len(x)
        if type(x) == "number" then return 1 end
        if type(x) == "table" and x.numel then return x.numel end
        return #x
    end
    local n = len(expected)
    assert(len(actual) == n, ("%s: %d elements, expected %d"):format(what or "assert_close", len(actual), n))
    local bad, worst = {}, 0
    for i = 1, n do
        local a, e = get(actual, i), get(expected, i)
        local err = math.abs(a - e)
        if not (err <= atol + rtol * math.abs(e)) then
            if #bad < 5 then bad[#bad + 1] = ("  [%d] got %.9g expected %.9g (|diff| %.3g)"):format(i, a, e, err) end
            worst = math.max(worst, err ~= err and math.huge or err)
        end
    end
    if #bad > 0 then
        error(("%s: mismatches (rtol %g, atol %g), worst |diff| %.3g:\n%s"):format(what or "assert_close",
            rtol, atol, worst, table.concat(bad, "\n")), 2)
    end
end

--- Central finite difference of f() (returns a number) with respect to element i (0-based) of the
-- float buffer `buf`, step h.
function numgrad(f, buf, i, h)
    h = h or 1e-3
    local saved = buf[i]
    buf[i] = saved + h
    local fp = f()
    buf[i] = saved - h
    local fm = f()
    buf[i] = saved
    return (fp - fm) / (2 * h)
end

--- A deterministic generator for specs.
function spec_rng(seed)
    return require("nvp.rng").new(seed or 1234)
end

--- Run `fn` and return the error message it raised (fails if it did not raise).
function error_of(fn, ...)
    local ok, err = pcall(fn, ...)
    assert(not ok, "expected an error, got none")
    return tostring(err)
end

--- Path to a fresh temporary directory, removed by the OS eventually (specs clean what they can).
function tmpdir()
    local p = os.tmpname()
    os.remove(p)
    assert(require("lfs").mkdir(p))
    return p
end

--- The nvp executable running this spec (for end-to-end specs that start a process).
-- (readlink in a child would name the child, so ask for this process by pid.)
ffi.cdef [[ int getpid(void); ]]
function nvp_exe()
    local p = io.popen("readlink /proc/" .. ffi.C.getpid() .. "/exe")
    local path = p:read("*l")
    p:close()
    return path
end
