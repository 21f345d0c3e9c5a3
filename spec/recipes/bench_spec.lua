-- nvp bench: the docs/REFERENCE.md protocol's JSON line, the peer race (against a fake peer script), the
-- per-kind profile and the kernel table, on tiny batches (the figures are for experiments/).
local json = require "nvp.json"
local flow = require "nvp.flow"
local optim = require "nvp.optim"
local Rng = require "nvp.rng"
local now = require "nvp.clock"
local profile = require "nvp.profile"
local kernels = require "nvp.bench.kernels"
local race = require "nvp.bench.race"

-- One thread: these check behaviour, not speed, and stay quick on a busy host.
local TINY = " config=fmnist-small batch=2 steps=1 warmup=0 sample_reps=1 threads=1"

-- stdout (and stderr when `both`) of an nvp command, and its exit status.
local function nvp(args, both)
    local p = io.popen(nvp_exe() .. " " .. args .. (both and " 2>&1" or " 2>/dev/null") .. "; echo rc=$?")
    local out = p:read("*a")
    p:close()
    local rc = tonumber(out:match("rc=(%d+)\n?$"))
    return out:gsub("rc=%d+\n?$", ""), rc
end

local function json_lines(out)
    local records = {}
    for line in out:gmatch("[^\n]+") do
        if line:sub(1, 1) == "{" then records[#records + 1] = assert(json.decode(line)) end
    end
    return records
end

local function write_file(path, text)
    local f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
    return path
end

describe("nvp bench", function()
    it("prints one JSON line with the peer's keys and the reference network's size", function()
        local out, rc = nvp("bench" .. TINY)
        assert.are.equal(0, rc)
        local r = json_lines(out)[1]
        for _, key in ipairs{"config", "batch", "threads", "params", "fwd_gflop_per_img", "train_img_per_s",
                             "sample_img_per_s", "peak_rss_mb"} do
            assert.is_not_nil(r[key], key)
        end
        assert.are.equal(2487112, r.params)
        assert.are.equal(1.2464, r.fwd_gflop_per_img) -- docs/REFERENCE.md 2.7
        assert.is_true(r.train_img_per_s > 0 and r.sample_img_per_s > 0 and r.peak_rss_mb > 0)
    end)

    it("counts cifar-ref's forward FLOPs as docs/REFERENCE.md 2.7 does", function()
        assert.is_true(math.abs(race.fwd_gflop_per_img(race.CONFIGS["cifar-ref"]) - 12.91321344) < 1e-8)
    end)

    it("races recipes/glow_fmnist.lua's network as config=glow-fmnist, sized as experiments/torch_glow.py", function()
        local out, rc = nvp("bench config=glow-fmnist batch=2 steps=1 warmup=0 sample_reps=1 threads=1")
        assert.are.equal(0, rc, out)
        local r = json_lines(out)[1]
        assert.are.equal(547360, r.params) -- torch_glow.py's count of the same network
        -- 2 x MACs: level 1 (4x14x14) and level 2 (8x7x7), 10 steps each, width 128
        local function level(c, pixels) return 10 * pixels * (c * c + 9 * c / 2 * 128 + 128 * 128 + 9 * 128 * c) end
        assert.are.equal(math.floor(2 * (level(4, 196) + level(8, 49)) / 1e5 + 0.5) / 1e4, r.fwd_gflop_per_img)
    end)

    it("names bad arguments in one line and exits 2", function()
        for args, message in pairs{
            ["bench config=resnet"] = "bench: unknown config 'resnet' (valid: cifar-ref, fmnist-small, glow-fmnist)",
            ["bench kernels config=glow-fmnist"] = "bench kernels: config=glow-fmnist is a recipe's network",
            ["bench steps=0"] = "bench: 'steps' must be an integer >= 1, got 0",
            ["bench batch=1"] = "bench: 'batch' must be an integer >= 2, got 1",
            ["bench peer=2"] = "bench: 'peer' must be 0 or 1",
            ["bench peer=1 profile=1"] = "bench: choose one of peer=1 and profile=1",
            ["bench rounds=3"] = "bench: 'rounds' needs peer=1",
            ["bench isa=avx2"] = "bench: 'isa' needs peer=1",
            ["bench peer=1 isa=sse"] = "bench: isa=sse; the one restriction raced is isa=avx2",
            ["bench reps=3"] = "bench: 'reps' is an option of 'nvp bench kernels'",
            ["bench kernels steps=3"] = "bench kernels: 'steps' is not a kernels option",
            ["bench kernels config=mnist"] = "bench: unknown config 'mnist'",
            ["bench kernel"] = "bench: unknown word 'kernel'",
            ["bench speed=1"] = "bench: unknown key 'speed'",
            ["bench clock=cpu"] = "bench: 'clock' is an option of profile=1 and kernels",
            ["bench kernels clock=gpu"] = "bench: unknown clock 'gpu' (valid: wall, cpu)",
        } do
            local out, rc = nvp(args, true)
            assert.matches(message, out, 1, true)
            assert.are.equal(2, rc, args)
            assert.are.equal(1, select(2, out:gsub("\n", "")), args .. ": " .. out)
        end
    end)
end)

describe("nvp bench peer=1", function()
    local dir
    before_each(function() dir = tmpdir() end)
    after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

    it("alternates ours and the peer with the same settings and ends with the ratios of the medians", function()
        -- A stand-in peer run by /bin/sh: fixed figures, and its command line in the record.
        local fake = write_file(dir .. "/peer.sh", [[
echo "train step 0: 1.0 s" >&2
printf '{"config":"fmnist-small","batch":4,"threads":2,"params":2487112,"fwd_gflop_per_img":1.2464,]] ..
            [["train_img_per_s":2.5,"sample_img_per_s":4.0,"peak_rss_mb":1000,"args":"%s"}\n' "$*"
]])
        -- and a stand-in latency run: its figures and what ATEN_CPU_CAPABILITY it was given
        local latency = write_file(dir .. "/latency.sh", [[
printf '{"sample1_ms":10,"encode1_ms":40,"cpu_capability":"%s","latency_args":"%s"}\n' "${ATEN_CPU_CAPABILITY:-AVX2}" "$*"
]])
        local out, rc = nvp("bench" .. TINY .. " peer=1 rounds=2 isa=avx2 python=/bin/sh peer_script=" .. fake
            .. " latency_script=" .. latency)
        assert.are.equal(0, rc, out)
        local r = json_lines(out)
        assert.are.equal(5, #r)
        local ours = {r[1], r[3]}
        for _, peer in ipairs{r[2], r[4]} do
            assert.are.equal("--config fmnist-small --batch 2 --steps 1 --warmup 0 --sample-reps 1 --threads 1 "
                .. "--seed 0", peer.args)
            assert.are.equal("--script " .. fake .. " --config fmnist-small --threads 1 --reps 1 --seed 0",
                peer.latency_args)
            assert.are.equal("avx2", peer.cpu_capability) -- the environment isa=avx2 sets
        end
        for _, o in ipairs(ours) do
            assert.is_nil(o.args)
            assert.are.equal(2487112, o.params)
            assert.are.equal(1, o.threads)
        end
        local ratio = r[5]
        assert.are.equal("ours/peer", ratio.ratio)
        assert.are.equal(2, ratio.rounds)
        local function expect(key, peer_value)
            local want = (ours[1][key] + ours[2][key]) / 2 / peer_value
            assert.is_true(math.abs(ratio[key] - want) <= 0.0005 + 1e-9, key)
        end
        expect("train_img_per_s", 2.5)
        expect("sample_img_per_s", 4.0)
        expect("peak_rss_mb", 1000)
        expect("sample1_ms", 10)
        expect("encode1_ms", 40)
        assert.are.equal("avx2", ratio.isa)
        for _, o in ipairs(ours) do assert.are.equal("avx2", o.cpu_path) end
        -- what a quoted result names: the host's CPU (as /proc/cpuinfo has it) and when
        assert.are.equal(require("nvp.bench.peer").host_cpu(), ratio.cpu)
        assert.matches("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d$", ratio.finished_utc)
    end)

    it("says what to install when the interpreter is missing", function()
        local out, rc = nvp("bench" .. TINY .. " peer=1 python=" .. dir .. "/python3", true)
        assert.are.equal(1, rc)
        assert.matches(("bench: peer=1 needs Python with PyTorch at '%s/python3' (apt-get install -y python3-torch "
            .. "python3-numpy, or set python=PATH)"):format(dir), out, 1, true)
    end)

    it("passes on the peer's own last words when it fails (no torch)", function()
        local fake = write_file(dir .. "/peer.sh", "echo 'torch_realnvp.py: no torch here' >&2; exit 1\n")
        local out, rc = nvp("bench" .. TINY .. " peer=1 rounds=1 python=/bin/sh peer_script=" .. fake, true)
        assert.are.equal(1, rc)
        assert.matches("bench: the peer failed (exit 1): torch_realnvp.py: no torch here (the peer needs /bin/sh; "
            .. "apt-get install -y python3-torch python3-numpy)", out, 1, true)
    end)
end)

describe("nvp.profile", function()
    local function tiny()
        local model = flow.RealNVP.new{channels = 1, size = 8, scales = 2, width = 4, blocks = 1, seed = 3}
        local opt = optim.Adam.new(model, {lr = 1e-3})
        local pixels = require("ffi").new("uint8_t[?]", 4 * 64)
        for i = 0, 4 * 64 - 1 do pixels[i] = (i * 37) % 256 end
        local function step(m, o)
            local nll = m:loss(pixels, 4, Rng.new(5))
            m:zero_grad()
            m:backward()
            o:step()
            return nll
        end
        return model, opt, step
    end

    it("leaves the step's numbers unchanged and gives every kind of work its share of the step", function()
        local plain_model, plain_opt, step = tiny()
        local model, opt = tiny()
        -- this thread's CPU time, not the wall clock: on a loaded host the wall clock also counts the time
        -- the process waits for a core between two wrapped calls, which is no work of the step's
        local ffi = require "ffi"           -- nvp.clock declared clock_gettime and nvp_timespec
        local ts = ffi.new("nvp_timespec")
        local function tick()
            ffi.C.clock_gettime(3, ts) -- CLOCK_THREAD_CPUTIME_ID
            return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
        end
        local prof = profile.instrument(model, opt, tick)
        for _ = 1, 2 do
            prof:reset()
            local t0 = tick()
            local nll = step(model, opt)
            local wall = (tick() - t0) * 1e3
            assert.are.equal(step(plain_model, plain_opt), nll)
            local ms, sum = prof:totals(), 0
            for _, kind in ipairs(profile.KINDS) do
                assert.is_true(ms[kind] > 0, kind)
                sum = sum + ms[kind]
            end
            -- the kinds partition the instrumented time: what is left is the step's own few Lua lines
            assert.is_true(sum <= wall and sum > 0.8 * wall, ("kinds %.3f ms, step %.3f ms"):format(sum, wall))
        end
        local a, b = plain_model:state(), model:state()
        for name, t in pairs(a) do assert.are.equal(0, t:max_abs_diff(b[name]), name) end
    end)

    it("prints the profile of a reference network's step with every kind", function()
        local out, rc = nvp("bench config=fmnist-small batch=2 steps=1 warmup=0 threads=1 profile=1")
        assert.are.equal(0, rc)
        local r = json_lines(out)[1]
        local sum = 0
        for _, kind in ipairs(profile.KINDS) do
            assert.is_true(r.kinds[kind] > 0, kind)
            sum = sum + r.kinds[kind]
        end
        assert.is_true(r.kinds.other >= 0 and r.kinds.other < 0.15 * r.step_ms, "untracked " .. r.kinds.other)
        assert.is_true(math.abs(sum + r.kinds.other - r.step_ms) < 0.05, "kinds add up to the step")
        assert.matches("conv%s+[%d.]+%s+[%d.]+%%", out)
    end)
end)

describe("nvp bench kernels", function()
    it("derives fmnist-small's conv shapes from the model: every call, docs/REFERENCE.md's MAC count", function()
        local shapes = kernels.conv_shapes("fmnist-small")
        local calls, macs, names = 0, 0, {}
        for _, s in ipairs(shapes) do
            calls = calls + s.calls
            macs = macs + s.calls * s.cout * s.cin * s.k * s.k * s.h * s.w
            names[#names + 1] = ("%dx%d %d->%d @%dx%d"):format(s.k, s.k, s.cin, s.cout, s.h, s.w)
        end
        assert.are.equal(10 * (3 + 3 * 4), calls)       -- 10 couplings: conv_in, skip_in, 3 per block, conv_out
        assert.are.equal(623185920, macs)               -- docs/REFERENCE.md section 1
        assert.are.same({"3x3 2->32 @28x28", "1x1 32->32 @28x28", "3x3 32->32 @28x28", "1x1 32->2 @28x28",
                         "3x3 4->64 @14x14", "1x1 64->64 @14x14", "3x3 64->64 @14x14", "1x1 64->4 @14x14"}, names)
    end)

    it("prints a row per shape with the three passes beside sgemm", function()
        local out, rc = nvp("bench kernels config=fmnist-small batch=1 reps=1 ceiling=32 threads=1 clock=cpu only=@14x14")
        assert.are.equal(0, rc)
        assert.matches(", cpu clock", out, 1, true)
        assert.matches("sgemm ceiling %(sgemm_peak.c's square shape, ported%): 32%^3 [%d.]+ GFLOP/s", out)
        local rows = 0
        for line in out:gmatch("[^\n]+") do
            if line:match("^%dx%d %d+%->%d+ @14x14") then
                rows = rows + 1
                assert.are.equal(3, select(2, line:gsub("[%d.]+/%s*[%d.]+ [%d.]+x", "")), line)
            end
        end
        assert.are.equal(4, rows)
        assert.matches("fmnist%-small: the convs of one training step", out)
    end)
end)
