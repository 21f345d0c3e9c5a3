-- spec/helpers.lua: loaded by busted before every spec file (see .busted).
-- Globals for specs: assert_close, numgrad, NVP (the FFI namespace), spec_rng, spec_pixels, cpu_paths, on_path,
-- ON (a public entry on one CPU path), CONV_ALGORITHMS, with_conv_algorithm.
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

--- The CPU paths this CPU runs, the scalar reference first: "scalar", then "avx2" and "avx512" where the
-- CPU has them. Specs compare every op's result on each against "scalar" (nvp_set_cpu_path).
function cpu_paths()
    local list = {}
    for _, p in ipairs{"scalar", "avx2", "avx512"} do
        if NVP.nvp_cpu_supports(p) ~= 0 then list[#list + 1] = p end
    end
    return list
end

--- The suffixes kernel() and conv_entry() take for the paths this CPU runs: "_ref", then "_avx2" and
-- "_avx512" where the CPU has them.
function kernel_suffixes()
    local suffix = {scalar = "_ref", avx2 = "_avx2", avx512 = "_avx512"}
    local list = {}
    for i, p in ipairs(cpu_paths()) do list[i] = suffix[p] end
    return list
end

--- fn(...) with the engine switched to CPU path `path` (nvp_set_cpu_path), then switched back (also when
-- fn raises); returns fn's results. Raises if this CPU lacks the path.
function on_path(path, fn, ...)
    local saved = ffi.string(NVP.nvp_cpu_path())
    if path ~= saved then nffi.check(NVP.nvp_set_cpu_path(path)) end
    local r = {pcall(fn, ...)}
    if path ~= saved then nffi.check(NVP.nvp_set_cpu_path(saved)) end
    if not r[1] then error(r[2], 0) end
    return unpack(r, 2, table.maxn(r))
end

--- ON[path].nvp_foo(...): nvp_foo run on that CPU path (ON.scalar.nvp_add(y, a, b, n)); the specs' way to
-- compare the paths of one public entry, since the _ref/_avx2/_avx512 variants are not exported.
ON = setmetatable({}, {__index = function(t, path)
    local ns = setmetatable({}, {__index = function(_, name)
        local f = NVP[name]
        return function(...) return on_path(path, f, ...) end
    end})
    rawset(t, path, ns)
    return ns
end})

--- kernel("nvp_foo_avx2"): the public entry nvp_foo on the CPU path a suffix names ("_ref" the scalar path,
-- "_avx2", "_avx512"); a name without a suffix is the entry itself on the current path. For specs
-- written against the kernels' twins, which are internal now.
local suffix_paths = {ref = "scalar", avx2 = "avx2", avx512 = "avx512"}
function kernel(name)
    local base, suffix = name:match("^(.-)_(%w+)$")
    if suffix_paths[suffix] then return ON[suffix_paths[suffix]][base] end
    return NVP[name]
end

--- conv_entry("nvp_winograd_forward_avx2"): the conv entries the conv specs name, a (pass, residual,
-- act) form of nvp_conv2d_forward / nvp_conv2d_backward run on the CPU path the suffix names (as kernel())
-- and, for nvp_winograd_*, with the Winograd algorithm of the tile the call passes where k was:
--   nvp_conv2d_forward(y, x, w, b, n, cin, cout, h, w, k, accumulate)     nvp_winograd_forward(..., tile, accumulate)
--   nvp_conv2d_forward_add(y, r, x, w, b, n, cin, cout, h, w, k)          nvp_winograd_forward_add(..., tile)
--   nvp_conv2d_forward_act(y, r, x, act, w, b, n, cin, cout, h, w, k)     nvp_winograd_forward_act(..., tile)
--   nvp_conv2d_backward(dx, dw, db, dy, x, w, n, cin, cout, h, w, k, accumulate_dx)   nvp_winograd_backward
--   nvp_conv2d_backward_act(dx, dw, db, dy, x, act, w, n, cin, cout, h, w, k, accumulate_dx)   ..._act
-- Without a suffix the current path runs, and nvp_conv2d_* keep the current algorithm override.
local conv_forms = {
    forward = function(y, x, w, b, n, ci, co, h, wd, k, acc)
        return NVP.nvp_conv2d_forward(y, acc ~= 0 and y or nil, x, nil, w, b, n, ci, co, h, wd, k)
    end,
    forward_add = function(y, r, x, w, b, n, ci, co, h, wd, k)
        return NVP.nvp_conv2d_forward(y, r, x, nil, w, b, n, ci, co, h, wd, k)
    end,
    forward_act = function(...) return NVP.nvp_conv2d_forward(...) end,
    backward = function(dx, dw, db, dy, x, w, n, ci, co, h, wd, k, acc)
        return NVP.nvp_conv2d_backward(dx, dw, db, dy, x, nil, w, n, ci, co, h, wd, k, acc)
    end,
    backward_act = function(...) return NVP.nvp_conv2d_backward(...) end,
}
local conv_tile_arg = {forward = 10, forward_add = 11, forward_act = 12, backward = 12, backward_act = 13}
function conv_entry(name)
    local family, rest = name:match("^nvp_(%a+%d?%a*)_(.*)$")
    local form, suffix = rest:match("^(.-)_(%w+)$")
    if not (form and suffix_paths[suffix]) then form, suffix = rest, nil end
    local f = assert(conv_forms[form], "no conv entry " .. name)
    local call = f
    if family == "winograd" then
        local i = conv_tile_arg[form]
        call = function(...)
            local args = {...}
            local tile = args[i]
            args[i] = 3
            return with_conv_algorithm("winograd_f" .. tile, f, unpack(args, 1, table.maxn(args)))
        end
    else
        assert(family == "conv2d", "no conv entry " .. name)
    end
    if suffix then return function(...) return on_path(suffix_paths[suffix], call, ...) end end
    return call
end

--- The nvp_conv_algorithm values by name ("auto", "direct", "im2col", "im2col_batched", "winograd",
-- "winograd_f2", "winograd_f4", "winograd_f7", "winograd_f8"): nvp.bench.kernels's table.
CONV_ALGORITHMS = require("nvp.bench.kernels").ALGORITHMS

--- fn(...) with the conv algorithm override `algorithm` (a name of CONV_ALGORITHMS, or "winograd" ..
-- tile for a tile of 2, 4, 7 or 8) set, then reset to the previous one (also when fn raises).
function with_conv_algorithm(algorithm, fn, ...)
    local value = assert(CONV_ALGORITHMS[algorithm], "unknown conv algorithm " .. tostring(algorithm))
    local saved = NVP.nvp_get_conv_algorithm()
    nffi.check(NVP.nvp_set_conv_algorithm(value))
    local r = {pcall(fn, ...)}
    NVP.nvp_set_conv_algorithm(saved)
    if not r[1] then error(r[2], 0) end
    return unpack(r, 2, table.maxn(r))
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
