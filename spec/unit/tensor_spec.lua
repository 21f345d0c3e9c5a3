local T = require "nvp.tensor"
local Rng = require "nvp.rng"
local ffi = require "ffi"

describe("tensor", function()
    it("allocates 64-byte aligned zeroed buffers", function()
        local t = T.zeros{3, 5, 7}
        assert.are.equal(105, t.numel)
        assert.are.equal(0, tonumber(ffi.cast("uintptr_t", t.data)) % 64)
        assert.are.equal(0, t:sum())
    end)

    it("gets and sets by 1-based index, row-major", function()
        local t = T.zeros{2, 3}
        t:set(5, 2, 3)
        assert.are.equal(5, t.data[5])
        assert.are.equal(5, t:get(2, 3))
        assert.matches("index 2 = 4 is outside %(2,3%)", error_of(function() t:get(1, 4) end))
    end)

    it("reshapes and narrows as views that share the buffer", function()
        local t = T.from_table({1, 2, 3, 4, 5, 6, 7, 8}, {4, 2})
        local v = t:reshape{2, 2, 2}
        v:set(-1, 1, 1, 1)
        assert.are.equal(-1, t:get(1, 1))
        local rows = t:narrow(2, 2)
        assert.are.same({2, 2}, rows:size())
        assert.are.same({3, 4, 5, 6}, rows:to_table())
        rows:fill(0)
        assert.are.same({-1, 2, 0, 0, 0, 0, 7, 8}, t:to_table())
    end)

    it("keeps the buffer alive while a view exists", function()
        local v = T.from_table({1, 2, 3, 4}):narrow(3, 2)
        collectgarbage(); collectgarbage()
        assert.are.same({3, 4}, v:to_table())
    end)

    it("names both shapes on a mismatch", function()
        local a, b = T.zeros{2, 3}, T.zeros{3, 2}
        assert.matches("tensor.add: shape mismatch %(2,3%) vs %(3,2%)", error_of(function() a:add(b) end))
        assert.matches("cannot view %(2,3%) %(6 elements%) as %(4%) %(4 elements%)",
            error_of(function() a:reshape{4} end))
        assert.matches("rows 2..3 are outside %(2,3%)", error_of(function() a:narrow(2, 2) end))
    end)

    it("reports errors at the caller's line", function()
        local ok, err = pcall(function() T.zeros{2}:add(T.zeros{3}) end)
        assert.is_false(ok)
        assert.matches("tensor_spec.lua:%d+: tensor.add", err)
    end)

    it("does element-wise arithmetic and reductions", function()
        local a = T.from_table{1, 2, 3, 4, 5}
        local b = T.from_table{10, 20, 30, 40, 50}
        assert.are.same({11, 22, 33, 44, 55}, a:clone():add(b):to_table())
        assert.are.same({10, 40, 90, 160, 250}, a:clone():mul(b):to_table())
        assert.are.same({21, 42, 63, 84, 105}, a:clone():axpy(2, b):to_table())
        assert.are.same({3, 5, 7, 9, 11}, a:clone():scale(2, 1):to_table())
        assert.are.equal(15, a:sum())
        assert.are.equal(55, a:sumsq())
        assert.are.equal(3, a:mean())
        assert_close(a:std(), math.sqrt(2), 1e-12)
        assert.are.equal(550, a:dot(b))
    end)

    it("counts non-finite values", function()
        local t = T.from_table{1, 0 / 0, math.huge, -math.huge, 2}
        assert.are.equal(3, t:count_nonfinite())
    end)

    it("prints its shape and statistics", function()
        assert.are.equal("Tensor(2,2) mean=2.5 std=1.11803", tostring(T.from_table({1, 2, 3, 4}, {2, 2})))
    end)
end)

describe("rng", function()
    it("is reproducible from the seed and independent of how draws are split", function()
        local whole = Rng.new(9):normal(T.empty{1000})
        local g = Rng.new(9)
        local a, b = g:normal(T.empty{333}), g:normal(T.empty{667})
        for i = 0, 332 do assert.are.equal(whole.data[i], a.data[i]) end
        for i = 0, 666 do assert.are.equal(whole.data[333 + i], b.data[i]) end
    end)

    it("gives the same numbers at any thread count", function()
        local n = 200000 -- large enough to run in parallel
        NVP.nvp_set_threads(1)
        local one = Rng.new(3):uniform(T.empty{n})
        NVP.nvp_set_threads(2)
        local two = Rng.new(3):uniform(T.empty{n})
        NVP.nvp_init()
        assert.are.equal(0, one:max_abs_diff(two))
    end)

    it("has the right moments", function()
        local u = Rng.new(1):uniform(T.empty{100000}, 2, 4)
        assert_close(u:mean(), 3, 0, 0.01)
        assert_close(u:std(), 2 / math.sqrt(12), 0, 0.01)
        local z = Rng.new(2):normal(T.empty{100000}, 1, 3)
        assert_close(z:mean(), 1, 0, 0.03)
        assert_close(z:std(), 3, 0.01)
        local lo, hi = math.huge, -math.huge
        for i = 0, u.numel - 1 do lo = math.min(lo, u.data[i]); hi = math.max(hi, u.data[i]) end
        assert.is_true(lo >= 2 and hi < 4)
    end)

    it("saves and restores its state exactly", function()
        local g = Rng.new(77)
        g:normal(T.empty{10})
        local saved = g:state()
        local a = g:normal(T.empty{10})
        local h = Rng.new(0)
        h:set_state(saved)
        local b = h:normal(T.empty{10})
        assert.are.equal(0, a:max_abs_diff(b))
        assert.are.same({seed = "77", counter = "20"}, g:state())
    end)
end)
