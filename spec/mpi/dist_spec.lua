-- Data-parallel training over MPI (nvp.dist, engine/src/dist): the one-rank case in this process, then
-- real jobs started with `mpirun --allow-run-as-root --oversubscribe -np 2` on a synthetic
-- Fashion-MNIST-shaped set: 2 ranks x B/2 train the parameters 1 rank x B trains (synchronised batch
-- norm), a run resumes with another rank count, and a rank that fails or is killed ends the job with
-- a non-zero exit and a message, never a hang. Skipped with a message where MPI is absent.
local dist = require "nvp.dist"
local fs = require "nvp.fs"
local run = require "nvp.run"
local T = require "nvp.tensor"

describe("dist, one process", function()
    it("is rank 0 of 1, and its reductions leave values as they are", function()
        assert.are.same({0, 1}, {dist.init()})
        assert.are.same({3.25, -1e300}, dist.sum{3.25, -1e300})
        local t = T.full({5}, 0.1)
        dist.sum_tensor(t)
        assert.are.equal(0, t:max_abs_diff(T.full({5}, 0.1)))
    end)

    it("shards cover [0, count) in rank order, sizes differing by at most one", function()
        for _, case in ipairs{{10, 3}, {7, 7}, {3, 5}, {64, 2}} do
            local count, size = case[1], case[2]
            local next_first = 0
            for rank = 0, size - 1 do
                local first, n = dist.shard(count, rank, size)
                assert.are.equal(next_first, first)
                assert.is_true(n == math.floor(count / size) or n == math.ceil(count / size))
                next_first = first + n
            end
            assert.are.equal(count, next_first)
        end
    end)

    it("puts each flow layer's gradients in a bucket of its own for overlap, every parameter once", function()
        local flow = require "nvp.flow"
        local model = flow.RealNVP.new{channels = 1, size = 8, scales = 2, width = 2, blocks = 1, flow_batchnorm = true}
        local buckets = dist.Gradients.new(model, {overlap = true}).buckets
        -- scale 0: 3 checkerboard + 3 channel-wise couplings, scale 1: 4 couplings; a batch norm after each
        assert.are.equal(2 * (6 + 4), #buckets)
        local seen, total = {}, 0
        for _, b in ipairs(buckets) do
            for _, g in ipairs(b.grads) do
                assert.is_nil(seen[g])
                seen[g] = true
                total = total + g.numel
            end
        end
        assert.are.equal(model:parameter_count(), total)
        assert.are.equal(1, #dist.Gradients.new(model).buckets)
    end)

    it("refuses a batch that does not split evenly over the ranks", function()
        assert.are.equal(8, dist.local_batch(16, 2))
        assert.are.equal("train.batch = 15 does not split evenly over 2 ranks: use a multiple of 2",
            error_of(dist.local_batch, 15, 2))
    end)
end)

local fixture = dofile("spec/reliability/fixture.lua") -- the 8x8 IDX set

-- Batch norm inside every s/t network and as a flow layer. Adam's eps is large against the rounding
-- noise of gradients that are exactly 0 in exact arithmetic (a convolution's bias before a batch norm,
-- which removes it): with the default 1e-8, Adam turns that noise into steps of +-lr, which differ
-- between any two summation orders and say nothing about the data-parallel arithmetic.
local TEXT = [[return {name = "t", data = {dataset = "fashion_mnist"},
    model = {scales = 2, width = 4, blocks = 1, flow_batchnorm = true},
    train = {batch = 16, lr = 1e-3, eps = 1e-3, log_every = 1, checkpoint_every_minutes = 1000,
             sync_batchnorm = true},
    eval = {batch = 32}, sample = {n = 0}, threads = 1}]]

local function mpi_available()
    if NVP.nvp_dist_compiled() == 0 then return false, "this nvp was built without MPI (NVP_MPI=OFF)" end
    local p = io.popen("command -v mpirun 2>/dev/null")
    local found = p:read("*l")
    p:close()
    if not found then return false, "mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev)" end
    return true
end

-- Ranks that wait in a collective yield the CPU: CI machines run these two ranks beside other work.
local MPIRUN = "mpirun --allow-run-as-root --oversubscribe --mca mpi_yield_when_idle 1 -np %d "

-- Run a shell command (stdout and stderr into one string) under a time limit: output, exit code.
local function sh(cmd, seconds)
    local p = io.popen(("timeout %d %s 2>&1; echo \"exit=$?\""):format(seconds or 120, cmd))
    local out = p:read("*a")
    p:close()
    local code = tonumber(out:match("exit=(%d+)%s*$"))
    return out:gsub("exit=%d+%s*$", ""), code
end

-- Largest |a - b| / (atol + rtol |a|) over the model's tensors of two checkpoints (<= 1: close).
local function model_distance(a, b, rtol, atol)
    local worst, where = 0, ""
    for name, t in pairs(a.tensors) do
        if name:match("^model%.") then
            local u = b.tensors[name]
            for i = 0, t.numel - 1 do
                local r = math.abs(t.data[i] - u.data[i]) / (atol + rtol * math.abs(t.data[i]))
                if r > worst then worst, where = r, name end
            end
        end
    end
    return worst, where
end

describe("mpirun -np 2", function()
    local ok, why = mpi_available()
    if not ok then
        pending("skipped: " .. why)
        return
    end
    local dir, recipe_path
    setup(function()
        dir = tmpdir()
        fixture.write_dataset(dir)
        recipe_path = dir .. "/t.lua"
        assert(fs.write(recipe_path, TEXT))
    end)
    teardown(function() os.execute("rm -rf " .. dir) end)

    local function train(ranks, out, args)
        local cmd = ("%s train %s data.root=%s run.dir=%s/%s %s"):format(nvp_exe(), recipe_path, dir, dir, out,
            args or "")
        if ranks > 0 then cmd = MPIRUN:format(ranks) .. cmd end
        local log, code = sh(cmd)
        assert.are.equal(0, code, log)
        return assert(run.open(("%s/%s/last.safetensors"):format(dir, out))), log
    end

    it("sums, broadcasts and shards across ranks", function()
        local script = [[local d = require "nvp.dist"; local ffi = require "ffi"
            local r, s = d.init()
            local b = ffi.new("double[1]", r == 0 and 42.5 or -1)
            d.broadcast(b, 8, 0)
            local first, n = d.shard(9)
            print(("rank %d/%d sum %g broadcast %g shard %d+%d"):format(r, s, d.sum{r + 1}[1], b[0], first, n))]]
        local out, code = sh(MPIRUN:format(2) .. nvp_exe() .. " -e '" .. script .. "'")
        assert.are.equal(0, code, out)
        assert.matches("rank 0/2 sum 3 broadcast 42.5 shard 0%+5", out)
        assert.matches("rank 1/2 sum 3 broadcast 42.5 shard 5%+4", out)
    end)

    it("2 ranks x 8 images train the parameters 1 rank x 16 does, after 5 steps (synchronised batch norm)",
        function()
            local one = train(0, "one", "train.steps=5")
            local two, log = train(2, "two", "train.steps=5")
            assert.matches("x 2 ranks of 8 images, synchronised batch norm", log, 1, true)
            local worst, where = model_distance(one, two, 1e-4, 1e-5)
            assert.is_true(worst <= 1, ("%s differs: %.3g x the tolerance"):format(where, worst))
            assert.are.equal(one.meta["nvp.noise_counter"], two.meta["nvp.noise_counter"])
            assert.are.equal(one.meta["nvp.loader_index"], two.meta["nvp.loader_index"])
            -- the sharded evaluation reduces to the same held-out figure
            assert_close(tonumber(two.meta["nvp.heldout_bpd"]), tonumber(one.meta["nvp.heldout_bpd"]), 1e-6, 0,
                "held-out bits/dim")
            -- the comparison can fail: batch norm per rank (statistics of 8 images) trains other weights
            local apart = train(2, "per_rank", "train.steps=5 train.sync_batchnorm=false")
            assert.is_true(model_distance(one, apart, 1e-4, 1e-5) > 100, "per-rank batch norm should differ")
        end)

    it("gives the same parameters, bit for bit, when each layer's gradients are reduced during the backward",
        function()
            local whole = train(2, "whole", "train.steps=3")
            local overlapped = train(2, "overlapped", "train.steps=3 train.overlap_allreduce=true")
            for name, t in pairs(whole.tensors) do
                if name:match("^model%.") or name:match("^adam%.") then
                    assert.are.equal(0, t:max_abs_diff(overlapped.tensors[name]), name)
                end
            end
        end)

    it("resumes with another number of ranks: 1 rank x 3 steps, then 2 ranks to 5 == 1 rank x 5", function()
        local straight = train(0, "straight", "train.steps=5")
        train(0, "mixed", "train.steps=3")
        local mixed, log = train(2, "mixed", "train.steps=5")
        assert.matches("resuming .*mixed/last.safetensors at step 3", log)
        assert.are.equal("5", mixed.meta["nvp.step"])
        assert.are.equal(straight.meta["nvp.noise_counter"], mixed.meta["nvp.noise_counter"])
        local worst, where = model_distance(straight, mixed, 1e-4, 1e-5)
        assert.is_true(worst <= 1, ("%s differs: %.3g x the tolerance"):format(where, worst))
    end)

    it("ends every rank with the failing rank's message, once, when one fails", function()
        local script = [[local d = require "nvp.dist"
            if d.init() == 1 then error("rank one cannot read its file", 0) end
            d.sum{1}
            print("rank 0 went on")]]
        local out, code = sh(MPIRUN:format(2) .. nvp_exe() .. " -e '" .. script .. "'", 60)
        assert.are_not.equal(0, code)
        assert.are_not.equal(124, code, "timed out: a rank hung in a collective")
        assert.matches("rank 1 of 2: rank one cannot read its file", out, 1, true)
        assert.is_nil(out:find("rank 0 went on", 1, true))
        out, code = sh(MPIRUN:format(2) .. ("%s train %s data.root=%s run.dir=%s/odd train.batch=15"):format(nvp_exe(),
            recipe_path, dir, dir), 60)
        assert.are_not.equal(0, code, out)
        assert.are_not.equal(124, code, "timed out: " .. out)
        assert.matches("train.batch = 15 does not split evenly over 2 ranks: use a multiple of 2", out, 1, true)
        -- a decision every rank reaches together (from the reduced loss): one message, from rank 0
        out, code = sh(MPIRUN:format(2) .. ("%s train %s data.root=%s run.dir=%s/diverged train.lr=1e30 "
            .. "train.max_bad_steps=3"):format(nvp_exe(), recipe_path, dir, dir), 60)
        assert.are_not.equal(0, code, out)
        assert.are_not.equal(124, code, "timed out: " .. out)
        local _, count = out:gsub("non%-finite steps in a row", "")
        assert.are.equal(1, count, out)
        assert.matches("rank 0 of 2: train: 3 non-finite steps in a row at step", out, 1, true)
    end)

    it("ends the job with a non-zero exit and a message when a rank is killed, without hanging", function()
        local out = dir .. "/killed"
        -- each rank writes its pid, then becomes nvp (exec keeps the pid)
        local cmd = ("(timeout 90 %s sh -c 'echo $$ > %s.pid.$OMPI_COMM_WORLD_RANK; exec %s train %s data.root=%s "
            .. "run.dir=%s train.steps=100000' > %s.log 2>&1; echo $? > %s.exit) &"):format(MPIRUN:format(2), out,
            nvp_exe(), recipe_path, dir, out, out, out)
        os.execute(cmd)
        for _ = 1, 300 do
            if fs.exists(out .. "/metrics.jsonl") and fs.exists(out .. ".pid.1") then break end
            os.execute("sleep 0.1")
        end
        assert.is_true(fs.exists(out .. "/metrics.jsonl"), "training did not start: " .. (fs.read(out .. ".log") or ""))
        os.execute("kill -9 " .. assert(fs.read(out .. ".pid.1")):match("%d+"))
        for _ = 1, 600 do
            if fs.exists(out .. ".exit") then break end
            os.execute("sleep 0.1")
        end
        local code = tonumber((fs.read(out .. ".exit") or ""):match("%d+"))
        local log = fs.read(out .. ".log") or ""
        assert.is_not_nil(code, "mpirun did not end within 60 s of the kill:\n" .. log)
        assert.are_not.equal(0, code, log)
        assert.are_not.equal(124, code, "timed out: a rank hung:\n" .. log)
        assert.matches("rank 1 .* exited on signal 9", log)
    end)
end)
