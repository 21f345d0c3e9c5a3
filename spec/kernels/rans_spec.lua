-- The rANS coder (engine/src/kernels/rans.c through lua/nvp/compress/rans.lua): exact round trips,
-- the codelength against the ideal sum of -log2 p, the bits-back identity (pop then push leaves
-- the message unchanged), discretised Gaussian/logistic buckets at extreme means and scales, and
-- refused streams and misuse, each in one line.
local ffi = require "ffi"
local rans = require "nvp.compress.rans"

-- The engine's message at the end of a raised error (the Lua position prefix stripped).
local function msg_of(fn, ...)
    return (error_of(fn, ...):gsub("^[^:]*:%d+: ", ""))
end

-- A random distribution over n symbols: a mix of flat, peaked and heavy-tailed shapes.
local function random_probs(n)
    local p, kind = {}, math.random(3)
    for i = 1, n do
        local u = math.random()
        p[i] = kind == 1 and u or kind == 2 and u ^ 8 or math.exp(-0.5 * ((i - n / 2) / (n / 10 + 0.5)) ^ 2) + 1e-9
    end
    return p
end

local function freq_of(cdf, s) return cdf[s + 1] - cdf[s] end

-- A message holding `bits` random bits (the initial bits of bits-back coding).
local function random_message(bits)
    local m = rans.new()
    for _ = 1, math.ceil(bits / 16) do m:push_uniform(math.random(0, 65535), 65536) end
    return m
end

describe("rans symbols", function()
    it("round-trips random sequences under random distributions, and through bytes", function()
        math.randomseed(22)
        for trial = 1, 12 do
            local precision = math.random(8, 24)
            local dists = {}
            for d = 1, 6 do
                local n = math.random(2, math.min(300, 2 ^ precision))
                dists[d] = {n = n, cdf = rans.quantize(random_probs(n), precision)}
            end
            local m, seq = rans.new(), {}
            for i = 1, 3000 do
                local d = dists[math.random(#dists)]
                local s = math.random(0, d.n - 1)
                seq[i] = {d = d, s = s}
                m:push_cdf(s, d.cdf, precision)
            end
            if trial % 2 == 0 then m = assert(rans.from_bytes(m:to_bytes())) end
            for i = #seq, 1, -1 do
                local got = m:pop_cdf(seq[i].d.cdf, precision)
                if got ~= seq[i].s then
                    error(("trial %d (precision %d): symbol %d decoded %d, pushed %d"):format(trial, precision, i, got,
                        seq[i].s))
                end
            end
            assert.are.equal(0, m:words())
            assert.are.equal(0, m:bits())
        end
    end)

    it("round-trips raw (start, freq) symbols through peek and pop at mixed precisions", function()
        math.randomseed(7)
        local m, seq = rans.new(), {}
        for i = 1, 5000 do
            local p = math.random(1, 24)
            local freq = math.random(1, 2 ^ p)
            local start = math.random(0, 2 ^ p - freq)
            seq[i] = {start, freq, p}
            m:push(start, freq, p)
        end
        for i = #seq, 1, -1 do
            local start, freq, p = seq[i][1], seq[i][2], seq[i][3]
            local slot = m:peek(p)
            assert(slot >= start and slot < start + freq, ("symbol %d: slot %d outside [%d, %d)"):format(i, slot,
                start, start + freq))
            m:pop(start, freq, p)
        end
        assert.are.equal(0, m:bits())
    end)

    it("keeps the state below 2^63 at the renormalisation boundary", function()
        -- 31 zero bits take the state from 2^31 to exactly 2^62 = 2^(63-p) freq for p = 1, freq = 1:
        -- the next push must move a word out first.
        local m = rans.new()
        for _ = 1, 32 do m:push(0, 1, 1) end
        assert.are.equal(1, m:words())
        assert.are.equal(32, m:bits())
        local back = assert(rans.from_bytes(m:to_bytes()))
        for _ = 1, 32 do back:pop(0, 1, 1) end
        assert.are.equal(0, back:bits())
    end)

    it("round-trips uniform integers, powers of two and not", function()
        math.randomseed(3)
        local m, seq = rans.new(), {}
        for i = 1, 4000 do
            local n = i % 3 == 0 and 2 ^ math.random(0, 24) or math.random(1, 2 ^ 24)
            seq[i] = {math.random(0, n - 1), n}
            m:push_uniform(seq[i][1], n)
        end
        for i = #seq, 1, -1 do assert.are.equal(seq[i][1], m:pop_uniform(seq[i][2])) end
        assert.are.equal(0, m:bits())
    end)

    -- Overhead stated in compress.md: information bits within 1e-4 relative + 1 bit of the ideal
    -- sum of -log2(freq / 2^p); the serialised size within that + 224 bits (28-byte header and CRC)
    -- + 32 (the last partial word) + 32 (the state's 64 bits hold 31 bits of nothing).
    it("codes within 0.01 % + 1 bit of the ideal codelength", function()
        math.randomseed(5)
        for _, precision in ipairs{12, 16, 24} do
            local n = 200
            local cdf = rans.quantize(random_probs(n), precision)
            local m, ideal = rans.new(), 0
            for _ = 1, 20000 do
                local slot, s = math.random(0, 2 ^ precision - 1), 0   -- s drawn from the distribution
                while cdf[s + 1] <= slot do s = s + 1 end
                m:push_cdf(s, cdf, precision)
                ideal = ideal - math.log(freq_of(cdf, s) / 2 ^ precision) / math.log(2)
            end
            local bits = m:bits()
            assert(bits >= ideal - 1e-6 * ideal, ("precision %d: %.3f bits below the ideal %.3f"):format(precision,
                bits, ideal))
            assert(bits <= ideal * 1.0001 + 1, ("precision %d: %.3f bits, ideal %.3f"):format(precision, bits, ideal))
            assert(#m:to_bytes() * 8 <= ideal * 1.0001 + 1 + 224 + 64)
        end
    end)
end)

describe("rans bits-back", function()
    it("pop under one distribution then push back leaves the message unchanged", function()
        math.randomseed(11)
        local m = random_message(4096)
        local before = m:clone()
        local precision = 16
        for _ = 1, 500 do
            local cdf = rans.quantize(random_probs(math.random(2, 500)), precision)
            local s = m:pop_cdf(cdf, precision)
            m:push_cdf(s, cdf, precision)
            assert(m == before, "pop then push changed the message")
        end
        -- and a chain: pop under A, push under B, pop under B, push under A
        for _ = 1, 200 do
            local a = rans.quantize(random_probs(40), 16)
            local b = rans.quantize(random_probs(40), 12)
            local s = m:pop_cdf(a, 16)
            m:push_cdf(s, b, 12)
            assert.are.equal(s, m:pop_cdf(b, 12))
            m:push_cdf(s, a, 16)
            assert(m == before, "the pop/push chain changed the message")
        end
    end)

    it("pops and pushes back Gaussian buckets and uniform noise unchanged", function()
        math.randomseed(12)
        local m = random_message(2048)
        local before = m:clone()
        local grid = {lo = -8, width = 1 / 64, n = 1024, precision = 16}
        for _ = 1, 300 do
            local mean, scale = math.random() * 10 - 5, math.exp(math.random() * 8 - 6)
            local b = m:pop_bucket("gaussian", mean, scale, grid)
            m:push_bucket(b, "gaussian", mean, scale, grid)
            local u = m:pop_uniform(256)
            m:push_uniform(u, 256)
            assert(m == before)
        end
        local gained = m:bits()
        local b = m:pop_bucket("logistic", 0.3, 0.5, grid)
        assert(m:bits() < gained, "popping a sample must consume bits")
        m:push_bucket(b, "logistic", 0.3, 0.5, grid)
        assert(m == before)
    end)
end)

describe("rans buckets", function()
    -- Phi by its Taylor series (|x| <= 4, where cancellation stays below 1e-12): a reference
    -- independent of the engine's erfcc fit.
    local function phi(x)
        local z, term, sum, k = x / math.sqrt(2), x / math.sqrt(2), x / math.sqrt(2), 0
        repeat
            k = k + 1
            term = -term * z * z / k
            sum = sum + term / (2 * k + 1)
        until math.abs(term) < 1e-18 * math.abs(sum) or k > 400
        return 0.5 + sum / math.sqrt(math.pi)
    end

    it("tiles 2^precision exactly with every bucket's freq >= 1, near the true CDF", function()
        for _, dist in ipairs{"gaussian", "logistic"} do
            for _, g in ipairs{{lo = -8, width = 1 / 64, n = 1024, precision = 16},
                               {lo = -100, width = 1, n = 200, precision = 12},
                               {lo = -3, width = 3, n = 2, precision = 2},
                               -- edges 1e-9 either side of the mean: the two halves of the Gaussian
                               -- must meet at exactly 1/2 (erfcc(0) = 1 + 3e-8 unnormalised)
                               {lo = -2e-9, width = 1e-9, n = 4, precision = 24}} do
                for _, ms in ipairs{{0, 1}, {0.3, 0.2}, {-7.99, 1e-3}, {1e6, 1}, {-1e6, 1e-12}, {2, 1e6}} do
                    local next_start, S = 0, 2 ^ g.precision - g.n
                    for b = 0, g.n - 1 do
                        local start, freq = rans.bucket_freq(b, dist, ms[1], ms[2], g)
                        assert.are.equal(next_start, start)
                        assert(freq >= 1)
                        local edge = g.lo + b * g.width
                        if dist == "gaussian" and b > 0 and ms[1] == 0 and ms[2] == 1 and math.abs(edge) <= 4 then
                            local want = S * phi(edge) + b
                            assert(math.abs(start - want) <= 1 + S * 3e-7, ("bucket %d: start %d, S Phi + b = %.2f")
                                :format(b, start, want))
                        end
                        next_start = start + freq
                    end
                    assert.are.equal(2 ^ g.precision, next_start)
                end
            end
        end
    end)

    it("pins the CDF arithmetic (a change would break every written file)", function()
        local g = {lo = -8, width = 1 / 64, n = 1024, precision = 16}
        assert.are.same({32768, 403}, {rans.bucket_freq(512, "gaussian", 0, 1, g)})
        assert.are.same({7830, 283}, {rans.bucket_freq(474, "gaussian", 0.25, 0.7, g)})
        assert.are.same({31756, 253}, {rans.bucket_freq(508, "logistic", 0, 1, g)})
    end)

    it("round-trips buckets over extreme means and scales, one by one and batched", function()
        math.randomseed(13)
        for _, dist in ipairs{"gaussian", "logistic"} do
            for _, g in ipairs{{lo = -8, width = 1 / 64, n = 1024, precision = 16},
                               {lo = -1e4, width = 0.5, n = 40000, precision = 24},
                               {lo = 0, width = 1, n = 3, precision = 2}} do
                local means = {-1e300, -1e6, g.lo, -0.5, 0, 1 / 3, g.lo + g.n * g.width, 1e6, 1e300}
                local scales = {1e-300, 1e-12, 1e-3, 0.3, 1, 30, 1e6, 1e300}
                local m, seq = rans.new(), {}
                for _, mean in ipairs(means) do
                    for _, scale in ipairs(scales) do
                        for _, b in ipairs{0, g.n - 1, math.random(0, g.n - 1), math.floor(g.n / 2)} do
                            seq[#seq + 1] = {b, mean, scale}
                            m:push_bucket(b, dist, mean, scale, g)
                        end
                    end
                end
                local bytes = m:to_bytes()
                m = assert(rans.from_bytes(bytes))
                for i = #seq, 1, -1 do
                    assert.are.equal(seq[i][1], m:pop_bucket(dist, seq[i][2], seq[i][3], g))
                end
                assert.are.equal(0, m:bits())
            end
        end
        local n, g = 3000, {lo = -8, width = 1 / 64, n = 1024, precision = 16}
        local b, mean, scale = ffi.new("int32_t[?]", n), ffi.new("float[?]", n), ffi.new("float[?]", n)
        for i = 0, n - 1 do
            b[i], mean[i], scale[i] = math.random(0, 1023), math.random() * 20 - 10, math.exp(math.random() * 10 - 7)
        end
        local m = rans.new()
        m:push_buckets(b, mean, scale, n, "gaussian", g)
        local out = m:pop_buckets(ffi.new("int32_t[?]", n), mean, scale, n, "gaussian", g)
        for i = 0, n - 1 do assert.are.equal(b[i], out[i]) end
        assert.are.equal(0, m:bits())
    end)
end)

describe("rans refusals", function()
    local function sample_bytes()
        math.randomseed(9)
        return random_message(1000):to_bytes()
    end

    it("refuses empty, truncated and altered streams in one line", function()
        local bytes = sample_bytes()
        local function refused(s)
            local m, err = rans.from_bytes(s)
            assert.is_nil(m)
            assert.is_nil(err:find("\n"))
            return err
        end
        assert.are.equal("nvp_rans_from_bytes: 0 bytes, shorter than the 28-byte minimum (empty or truncated)",
            refused(""))
        assert.are.equal("nvp_rans_from_bytes: 27 bytes, shorter than the 28-byte minimum (empty or truncated)",
            refused(bytes:sub(1, 27)))
        assert.are.equal(("nvp_rans_from_bytes: the header says %d words, the data has %d bytes (truncated or altered)")
            :format((#bytes - 28) / 4, #bytes - 1), refused(bytes:sub(1, -2)))
        assert.are.equal("nvp_rans_from_bytes: not an rANS message (magic is not \"nvprans1\")",
            refused("X" .. bytes:sub(2)))
        for _, at in ipairs{9, 17, 25, 100, #bytes - 4, #bytes} do   -- words, state, the stack, the CRC
            local c = bytes:byte(at)
            local altered = bytes:sub(1, at - 1) .. string.char(bit.bxor(c, 4)) .. bytes:sub(at + 1)
            local err = refused(altered)
            assert(err:find("CRC%-32") or err:find("header says"), err)
        end
        assert.are.equal("rans.from_bytes: expected a string, got nil", msg_of(rans.from_bytes, nil))
    end)

    it("refuses popping an exhausted or empty message, leaving it unchanged", function()
        local m = rans.new()
        assert.are.equal("nvp_rans_pop_uniform: the message is exhausted (popping needs a word and the stack is empty)",
            msg_of(m.pop_uniform, m, 256))
        m:push_uniform(200, 256)
        assert.are.equal(200, m:pop_uniform(256))
        local cdf = rans.quantize({1, 2, 3}, 8)
        assert.are.equal("nvp_rans_pop_cdf: the message is exhausted (popping needs a word and the stack is empty)",
            msg_of(m.pop_cdf, m, cdf, 8))
        assert.are.equal(0, m:bits())
        -- a certain symbol carries no information: it pops even from the empty message
        m:pop(0, 256, 8)
        local g = {lo = -1, width = 1, n = 2, precision = 8}
        assert.are.equal("nvp_rans_pop_bucket: the message is exhausted (popping needs a word and the stack is empty)",
            msg_of(m.pop_bucket, m, "gaussian", 0, 1, g))
        local full = random_message(64)
        local before = full:clone()
        assert.are.equal("nvp_rans_pop: symbol [start 0, +freq 1) does not hold the peeked slot " .. full:peek(16),
            msg_of(full.pop, full, full:peek(16) == 0 and 1 or 0, 1, 16))
        assert(full == before)
    end)

    it("refuses bad precisions, frequencies, values and grids by name", function()
        local m = rans.new()
        assert.are.equal("nvp_rans_push: precision 0 is outside [1, 24]", msg_of(m.push, m, 0, 1, 0))
        assert.are.equal("nvp_rans_push: precision 25 is outside [1, 24]", msg_of(m.push, m, 0, 1, 25))
        assert.are.equal("nvp_rans_push: symbol [start 0, +freq 0) is empty or outside [0, 2^8)",
            msg_of(m.push, m, 0, 0, 8))
        assert.are.equal("nvp_rans_push: symbol [start 200, +freq 57) is empty or outside [0, 2^8)",
            msg_of(m.push, m, 200, 57, 8))
        assert.are.equal("nvp_rans_push_uniform: n = 0 is outside [1, 2^24]", msg_of(m.push_uniform, m, 0, 0))
        assert.are.equal("nvp_rans_push_uniform: value 256 is outside [0, 256)", msg_of(m.push_uniform, m, 256, 256))
        local cdf = rans.quantize({1, 1}, 8)
        assert.are.equal("nvp_rans_push_cdf: symbol 2 is outside [0, 2)", msg_of(m.push_cdf, m, 2, cdf, 8))
        assert.are.equal("nvp_rans_push_cdf: cdf[0] = 0 and cdf[2] = 256, need 0 and 2^9",
            msg_of(m.push_cdf, m, 0, cdf, 9))
        local g = {lo = -8, width = 1 / 64, n = 1024, precision = 16}
        assert.are.equal("nvp_rans_push_bucket: bucket 1024 is outside [0, 1024)",
            msg_of(m.push_bucket, m, 1024, "gaussian", 0, 1, g))
        assert.are.equal("nvp_rans_push_bucket: mean = 0, scale = 0: need finite values and scale > 0",
            msg_of(m.push_bucket, m, 0, "gaussian", 0, 0, g))
        assert.are.equal("nvp_rans_push_bucket: mean = nan, scale = 1: need finite values and scale > 0",
            msg_of(m.push_bucket, m, 0, "gaussian", 0 / 0, 1, g):gsub("%-nan", "nan"))
        assert.are.equal("nvp_rans_push_bucket: nbuckets = 1024 is outside [2, 2^10)",
            msg_of(m.push_bucket, m, 0, "gaussian", 0, 1, {lo = 0, width = 1, n = 1024, precision = 10}))
        assert.are.equal("rans: unknown distribution 'normal' (gaussian or logistic)",
            msg_of(m.push_bucket, m, 0, "normal", 0, 1, g))
        assert.are.equal(0, m:bits())   -- nothing above touched the message
    end)
end)

describe("rans windowed Gaussians (the codec's grid values)", function()
    local function normal()
        return math.sqrt(-2 * math.log(1 - math.random())) * math.cos(2 * math.pi * math.random())
    end

    -- n grid points drawn around random means at random scales (2^-12..2^4 of a 2^-16 grid), a few of them
    -- far out in the escape range; and the ideal codelength sum -log2(N(k delta) delta).
    local function draw(n, grid, far)
        local k, mean, scale = ffi.new("int64_t[?]", n), ffi.new("double[?]", n), ffi.new("double[?]", n)
        local ideal = 0
        for i = 0, n - 1 do
            mean[i], scale[i] = (math.random() - 0.5) * 20, 2 ^ (math.random() * 16 - 12)
            local sign = math.random() < 0.5 and -1 or 1
            local z = (far and i % 50 == 0) and sign * (10 + 12 * math.random()) or normal()
            k[i] = math.floor((mean[i] + scale[i] * z) / grid.delta + 0.5)
            local x = tonumber(k[i]) * grid.delta
            local nats = 0.5 * ((x - mean[i]) / scale[i]) ^ 2 + math.log(scale[i] * math.sqrt(2 * math.pi) / grid.delta)
            ideal = ideal + nats / math.log(2)
        end
        return k, mean, scale, ideal
    end

    it("round-trips grid points, near the ideal codelength, tails through the escape", function()
        math.randomseed(7)
        local grid = {delta = 2 ^ -16, res = 6, nbuckets = 2048, precision = 24}
        local n = 4000
        local k, mean, scale, ideal = draw(n, grid, false)
        local m = rans.new()
        m:push_gaussians(k, mean, scale, n, grid)
        -- a Gaussian over 2^7..2^8 coarse buckets per scale, uniform inside one: 1e-4 relative measured
        assert.is_true(math.abs(m:bits() - ideal) < 1e-3 * ideal + 64,
            ("%.1f bits, ideal %.1f"):format(m:bits(), ideal))
        -- every 50th point 10..22 scales out (the window reaches 8..16)
        local kf, meanf, scalef = draw(n, grid, true)
        m:push_gaussians(kf, meanf, scalef, n, grid)
        m = assert(rans.from_bytes(m:to_bytes()))
        local back = ffi.new("int64_t[?]", n)
        m:pop_gaussians(back, meanf, scalef, n, grid)
        for i = 0, n - 1 do assert(back[i] == kf[i], ("far point %d: %s, pushed %s"):format(i, back[i], kf[i])) end
        m:pop_gaussians(back, mean, scale, n, grid)
        for i = 0, n - 1 do assert(back[i] == k[i], ("point %d: %s, pushed %s"):format(i, back[i], k[i])) end
        assert.are.equal(0, m:bits())
    end)

    it("pops then pushes back unchanged (bits back), and tracks the low-water mark", function()
        math.randomseed(8)
        local grid = {delta = 2 ^ -20, res = 4, nbuckets = 256, precision = 16}
        local m = random_message(40000)
        local before, words = m:clone(), m:words()
        m:reset_low()
        local n = 500
        local _, mean, scale = draw(n, grid, false)
        local k = ffi.new("int64_t[?]", n)
        m:pop_gaussians(k, mean, scale, n, grid)
        local low = m:low_words()
        assert.is_true(low < words and low == m:words(), ("low %d, words %d then %d"):format(low, words, m:words()))
        m:push_gaussians(k, mean, scale, n, grid)
        assert.is_true(m == before)
        assert.are.equal(low, m:low_words())                    -- pushes never lower it
        for i = 0, low - 1 do assert.are.equal(before:word(i), m:word(i)) end
    end)

    it("codes points any distance out (escape lengths), refuses |k| >= 2^61 and bad grids in one line", function()
        local m = rans.new()
        local far = {1000000, -1000000, 2 ^ 40 + 3, -(2 ^ 60) + 7, 17, -17, 0}
        local n = #far
        local k, mean, scale = ffi.new("int64_t[?]", n), ffi.new("double[?]", n), ffi.new("double[?]", n)
        for i = 1, n do k[i - 1], mean[i - 1], scale[i - 1] = far[i], 0, 1 / 64 end
        local grid = {delta = 2 ^ -10, res = 2, nbuckets = 16, precision = 16}
        m:push_gaussians(k, mean, scale, n, grid)
        local back = ffi.new("int64_t[?]", n)
        m:pop_gaussians(back, mean, scale, n, grid)
        for i = 0, n - 1 do assert.are.equal(tonumber(k[i]), tonumber(back[i])) end
        assert.are.equal(0, m:bits())
        k[0] = 2 ^ 61
        assert.are.equal("nvp_rans_push_gaussians: value 2305843009213693952 * delta is beyond 2^61 points "
            .. "(element 0 of 1)", msg_of(m.push_gaussians, m, k, mean, scale, 1, grid))
        k[0] = 0
        assert.are.equal("nvp_rans_push_gaussians: delta = 0.75 is not a power of two",
            msg_of(m.push_gaussians, m, k, mean, scale, 1, {delta = 0.75, res = 2, nbuckets = 16, precision = 16}))
        assert.are.equal("nvp_rans_push_gaussians: nbuckets = 12 is not a power of two in [4, 2^20] at most 2^16 / 16",
            msg_of(m.push_gaussians, m, k, mean, scale, 1, {delta = 1, res = 2, nbuckets = 12, precision = 16}))
        assert.are.equal(0, m:bits())
    end)
end)
