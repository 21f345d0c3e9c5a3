-- spec/helpers.lua: loaded by busted before every spec file (see .busted).
-- Globals for specs: assert_close, numgrad, NVP (the FFI namespace), spec_rng, spec_pixels, kernel_suffixes.
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

--- Check `analytic` against central differences at several steps: ReLU kinks bias a large step,
-- float32 rounding a small one, so it passes when any of the steps agrees. Raises on failure with
-- every estimate.
function assert_grad(analytic, f, buf, i, what, rtol, atol, steps)
    rtol, atol = rtol or 3e-2, atol or 3e-3
    steps = steps or {1e-2, 3e-3, 1e-3, 3e-4}
    local estimates = {}
    for _, h in ipairs(steps) do
        local num = numgrad(f, buf, i, h)
        if math.abs(num - analytic) <= atol + rtol * math.abs(num) then return end
        estimates[#estimates + 1] = ("h=%g: %.6g"):format(h, num)
    end
    error(("%s: analytic %.6g, finite differences %s"):format(what or "gradient", analytic,
        table.concat(estimates, ", ")), 2)
end

--- A 0-based Lua table (doubles) of a tensor's elements, for references computed in double.
function spec_doubles(t)
    local r = {}
    for i = 0, t.numel - 1 do r[i] = t.data[i] end
    return r
end

--- The first n elements of a 0-based table or buffer as a 1-based list (for assert_close).
function spec_list(x, n)
    local r = {}
    for i = 1, n do r[i] = x[i - 1] end
    return r
end

--- A deterministic generator for specs.
function spec_rng(seed)
    return require("nvp.rng").new(seed or 1234)
end

--- `count` deterministic uint8 "pixels" (i * stride + offset) % 256, i = 0 .. count - 1 (an FFI array).
function spec_pixels(count, stride, offset)
    local px = ffi.new("uint8_t[?]", count)
    for i = 0, count - 1 do px[i] = (i * stride + offset) % 256 end
    return px
end

--- The suffixes of a kernel family's entry points this CPU runs: "_ref", then "_avx2" and "_avx512"
-- where the CPU has them (the Winograd and conv-with-act kernels have all three).
function kernel_suffixes()
    local list = {"_ref"}
    if NVP.nvp_cpu_has_avx2() ~= 0 then list[#list + 1] = "_avx2" end
    if NVP.nvp_cpu_has_avx512() ~= 0 then list[#list + 1] = "_avx512" end
    return list
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

--- log|det A| of a dense n x n matrix (Lua array of rows), by LU with partial pivoting in double.
function logabsdet(a)
    local n = #a
    local m = {}
    for i = 1, n do
        m[i] = {}
        for j = 1, n do m[i][j] = a[i][j] end
    end
    local total = 0
    for k = 1, n do
        local p, best = k, math.abs(m[k][k])
        for i = k + 1, n do
            if math.abs(m[i][k]) > best then p, best = i, math.abs(m[i][k]) end
        end
        if best == 0 then return -math.huge end
        m[k], m[p] = m[p], m[k]
        total = total + math.log(math.abs(m[k][k]))
        for i = k + 1, n do
            local f = m[i][k] / m[k][k]
            for j = k + 1, n do m[i][j] = m[i][j] - f * m[k][j] end
        end
    end
    return total
end

--- The Jacobian (rows = outputs) of f: x -> y at x (a Tensor), by central differences with step h.
-- f returns a Tensor of the same number of elements; x is restored afterwards.
function jacobian(f, x, h)
    h = h or 1e-2
    local n = x.numel
    local J = {}
    for i = 1, n do J[i] = {} end
    for j = 0, n - 1 do
        local saved = x.data[j]
        x.data[j] = saved + h
        local yp = f(x):clone()
        x.data[j] = saved - h
        local ym = f(x)
        x.data[j] = saved
        for i = 0, n - 1 do J[i + 1][j + 1] = (yp.data[i] - ym.data[i]) / (2 * h) end
    end
    return J
end
