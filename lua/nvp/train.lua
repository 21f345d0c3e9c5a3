-- nvp.train: the training loop of `nvp train RECIPE.lua`.
--
-- One run directory holds the recipe as run, metrics.jsonl (one JSON object per line), the `last`
-- and `best` checkpoints (safetensors, written atomically) and images. A run resumes from its
-- `last` checkpoint: same weights, optimiser moments, data position and noise stream, so N steps
-- straight equal N/2 + resume + N/2 bit for bit (at the same thread count).
--
-- Many processes (`mpirun -np R build/nvp train RECIPE.lua`, nvp.dist): every rank reads the same
-- global batch of train.batch images and trains on its slice of train.batch / R, with the noise
-- counters of that slice in the global batch, so data order, flips and noise do not depend on R and
-- a run resumes with another R. Gradients are averaged over ranks (and batch-norm statistics with
-- train.sync_batchnorm); the loss is the global mean NLL; decisions that depend on a clock or a
-- signal (time budget, evaluations, checkpoints, Ctrl-C) are summed over ranks each step, so every
-- rank takes them together. Rank 0 alone writes the run directory and prints progress.
local ffi = require "ffi"
local json = require "nvp.json"
local nffi = require "nvp.ffi"
local fs = require "nvp.fs"
local now = require "nvp.clock"
local Rng = require "nvp.rng"
local optim = require "nvp.optim"
local run = require "nvp.run"
local dataset = require "nvp.data.dataset"
local transforms = require "nvp.data.transforms"
local loader_mod = require "nvp.data.loader"
local images_mod = require "nvp.data.images"
local evaluate = require "nvp.evaluate"
local batchnorm_stats = require "nvp.bn_stats"
local progress_mod = require "nvp.progress"
local grid = require "nvp.viz.grid"
local dist = require "nvp.dist"
local C = nffi.C

local M = {}

local function is_finite(x) return x == x and x ~= math.huge and x ~= -math.huge end

--- Write n samples of the model to `path` as a grid.
function M.save_samples(model, path, n, temperature, seed)
    local was_training = model.training
    model:evaluate()
    local px = model:sample(n, Rng.new(seed), temperature)
    model:train(was_training)
    local c = model.cfg
    local imgs = images_mod.wrap(px, n, c.channels, c.height, c.width_px)
    return grid.save_png(path, imgs, {cols = math.ceil(math.sqrt(n)), pad = 2, background = 255})
end

local function run_dir_of(r)
    if r.run.dir ~= "" then return r.run.dir end
    return "runs/" .. r.name
end

local function optimizer_config(r)
    local t = r.train
    return {lr = t.lr, beta1 = t.beta1, beta2 = t.beta2, eps = t.eps, l2 = t.l2, clip = t.clip,
            warmup = t.warmup, polyak = t.polyak}
end

--- Train a recipe (a normalized table from nvp.recipe). opts.quiet suppresses progress output.
-- Returns a summary {step, heldout_bpd, run_dir, interrupted}.
function M.run(r, opts)
    opts = opts or {}
    local rank, ranks = dist.init()
    local root = rank == 0
    local shard_batch = dist.local_batch(r.train.batch, ranks)
    local shard_first = rank * shard_batch  -- this rank's images [shard_first, + shard_batch) of each batch
    if r.threads > 0 then
        nffi.check(C.nvp_set_threads(r.threads))
    elseif dist.local_size() > 1 and os.getenv("NVP_THREADS") == nil then
        -- the ranks on this machine share its cores
        nffi.check(C.nvp_set_threads(math.max(1, math.floor(C.nvp_get_threads() / dist.local_size()))))
    end
    local dir = run_dir_of(r)
    local ok, err = true, nil
    if root then ok, err = fs.mkdir_p(dir) end
    if not ok then error(err, 0) end
    local ds
    ds, err = dataset.open(r.data)
    if ds == nil then error(err, 0) end
    -- the recipe's transforms (data.transforms): per training batch, and the deterministic ones on the
    -- held-out images once; the model sees their output size
    local pipeline = transforms.new(r.data.transforms, {channels = ds.channels, height = ds.height, width = ds.width},
        r.seed + 5)
    local dims = pipeline.out
    local heldout = pipeline:eval_images(ds.heldout)
    local model = run.build_model(r, dims)
    local conditional = model:is_conditional()
    if conditional and (ds.train.labels == nil or heldout.labels == nil) then
        error(("train: %s's model is class-conditional (nn.ClassPrior) but data.dataset %s has no labels "
            .. "(labelled: fashion_mnist, cifar10)"):format(r.name, ds.name), 0)
    end
    if conditional and ds.train.classes > model.cfg.classes then
        error(("train: %s has %d classes, the model's nn.ClassPrior %d"):format(ds.name, ds.train.classes,
            model.cfg.classes), 0)
    end
    local opt = optim.Adam.new(model, optimizer_config(r))
    local grads = dist.Gradients.new(model, {overlap = r.train.overlap_allreduce})
    if r.train.sync_batchnorm then dist.sync_batchnorm(model) end
    local loader = loader_mod.new{images = ds.train, batch = r.train.batch, seed = r.seed, flip = r.data.flip}
    local image_bytes = dims.channels * dims.height * dims.width
    local noise = Rng.new(r.seed + 1)   -- dequantization noise of training batches
    local shard_noise = Rng.new(r.seed + 1)  -- this rank's part of a batch's noise counters
    local step, best, train_seconds = 0, math.huge, 0

    local last_path, best_path = dir .. "/last.safetensors", dir .. "/best.safetensors"
    local say = (opts.quiet or not root) and function() end or function(line) print(line) io.stdout:flush() end
    -- rank 0's view of the run directory decides (every rank then reads the same file)
    local resuming = dist.sum{root and r.run.resume and fs.exists(last_path) and 1 or 0}[1] > 0
    if resuming then
        local ck
        ck, err = run.open(last_path)
        if ck == nil then error(err, 0) end
        model:load_state(ck.model:state())
        opt:load_state(ck.tensors, tonumber(ck.meta["nvp.step"]))
        step = tonumber(ck.meta["nvp.step"])
        loader:set_position{epoch = tonumber(ck.meta["nvp.loader_epoch"]), index = tonumber(ck.meta["nvp.loader_index"])}
        noise:set_state{seed = ck.meta["nvp.noise_seed"], counter = ck.meta["nvp.noise_counter"]}
        best = tonumber(ck.meta["nvp.best_bpd"]) or math.huge
        train_seconds = tonumber(ck.meta["nvp.train_seconds"]) or 0
        say(("resuming %s at step %d"):format(last_path, step))
    end
    if root then
        fs.write(dir .. "/recipe.lua", r.text)
        fs.write(dir .. "/overrides.json", json.encode(r.overrides or {}) .. "\n")
    end
    say(("%s on %s: %d training and %d held-out images, %s (%s, %d threads%s)"):format(r.name, ds.name,
        ds.train.count, ds.heldout.count, tostring(model), ffi.string(C.nvp_cpu_path()), C.nvp_get_threads(),
        ranks > 1 and (" x %d ranks of %d images, %s batch norm"):format(ranks, shard_batch,
            r.train.sync_batchnorm and "synchronised" or "per-rank") or ""))

    local metrics_path = dir .. "/metrics.jsonl"
    local function metric(t)
        if not root then return end
        t.time = os.time()
        fs.append_line(metrics_path, json.encode(t))
    end

    -- Every rank calls save at the same points (running averages of per-rank batch norm are averaged
    -- over ranks first); rank 0 writes.
    local function save(path, extra)
        if not r.train.sync_batchnorm then dist.average_running_stats(model) end
        if not root then return end
        local pos = loader:position()
        local ns = noise:state()
        local meta = {step = step, loader_epoch = pos.epoch, loader_index = pos.index, noise_seed = ns.seed,
                      noise_counter = ns.counter, best_bpd = best, train_seconds = train_seconds,
                      dataset = ds.name, ranks = ranks}
        for k, v in pairs(extra or {}) do meta[k] = v end
        local saved, serr = run.save(path, model, opt, meta, r)
        if not saved then error(serr, 0) end
    end

    -- bn_images > 0: first fix the batch-norm statistics on that many training images (the weights
    -- evaluated, Polyak-averaged or not); they stay in the model, so the checkpoints written next hold them.
    local function heldout_bpd(bn_images)
        if not r.train.sync_batchnorm then dist.average_running_stats(model) end
        local swapped = opt:swap_ema()
        if bn_images and bn_images > 0 then
            local train = pipeline:changes_size() and pipeline:eval_images(ds.train, bn_images) or ds.train
            batchnorm_stats.recalibrate(model, train, {images = bn_images, batch = r.eval.batch, seed = r.seed})
        end
        local bpd = evaluate.bits_per_dim(model, heldout, {batch = r.eval.batch, draws = r.eval.draws, seed = r.seed})
        if swapped then opt:swap_ema() end
        return bpd
    end

    C.nvp_interrupt_install()
    C.nvp_interrupt_clear()
    local progress = progress_mod.new{total_steps = r.train.steps, total_seconds = r.train.minutes * 60,
                                      every = r.train.log_every, tty = not opts.quiet and nil or false}
    if opts.quiet or not root then
        progress.update, progress.note, progress.finish = function() end, function() end, function() end
    end
    -- The time budget counts training only: held-out evaluations and checkpoints pause the clock.
    local started = now()
    local paused = 0
    local function training_clock() return now() - started - paused end
    local last_ckpt, last_eval = started, 0
    local bad_in_a_row, bad_total = 0, 0
    local running_stats = run.buffer_snapshot(model)   -- batch-norm averages, put back when a step is skipped
    local window_start, window_images = now(), 0
    local img_per_s, stop_reason = 0, "done"
    while true do
        -- What rank 0's clock says (time budget, evaluation and checkpoint due) and whether any rank
        -- caught a signal, summed over ranks so that all act on it at this step.
        local t_pause = now()
        local clock = training_clock()
        local agreed = dist.sum{
            root and r.train.minutes > 0 and clock >= r.train.minutes * 60 and 1 or 0,
            C.nvp_interrupted() ~= 0 and 1 or 0,
            root and r.train.eval_every_minutes > 0 and clock - last_eval >= r.train.eval_every_minutes * 60 and 1 or 0,
            root and now() - last_ckpt >= r.train.checkpoint_every_minutes * 60 and 1 or 0,
        }
        if agreed[3] > 0 then
            local h = heldout_bpd()
            metric{kind = "eval", step = step, heldout_bpd = h, seconds = train_seconds, minutes = clock / 60}
            progress:note(("step %d: held-out %.4f bits/dim after %.1f min of training"):format(step, h, clock / 60))
            if h < best then best = h save(best_path) end
            last_eval = clock
        end
        if agreed[4] > 0 then
            save(last_path)
            last_ckpt = now()
        end
        paused = paused + (now() - t_pause)
        if r.train.steps > 0 and step >= r.train.steps then stop_reason = "steps" break end
        if agreed[1] > 0 then stop_reason = "minutes" break end
        if r.train.epochs > 0 and loader:epochs_done() >= r.train.epochs then stop_reason = "epochs" break end
        if agreed[2] > 0 then stop_reason = "interrupted" break end

        local t_step = now()
        local pixels, n, _, labels = loader:next()
        pixels = pipeline:train_batch(pixels, n, loader.epoch * loader.batches_per_epoch + loader.index_in_epoch - 1)
        -- this rank's slice of the global batch, with the noise counters it has in the whole batch
        shard_noise.counter = noise:take(n * model.dims) + shard_first * model.dims
        running_stats.take()
        local shard_loss = model:loss(pixels + shard_first * image_bytes, shard_batch, shard_noise, nil,
            conditional and labels + shard_first or nil)
        local loss = dist.sum{shard_loss}[1] / ranks   -- the global mean NLL (equal slices)
        local bpd = loss / (model.dims * math.log(2))
        local norms
        if is_finite(loss) then
            model:zero_grad()
            model:backward()
            grads:average()
            norms = opt:grad_norms()
        end
        if not is_finite(loss) or norms.nonfinite > 0 then
            running_stats.restore()
            bad_in_a_row, bad_total = bad_in_a_row + 1, bad_total + 1
            progress:note(("step %d: non-finite %s, step skipped (%d in a row)"):format(step + 1,
                is_finite(loss) and "gradient" or "loss", bad_in_a_row))
            metric{kind = "skipped", step = step + 1, reason = is_finite(loss) and "gradient" or "loss"}
            if bad_in_a_row >= r.train.max_bad_steps then
                progress:finish()
                dist.fail(("train: %d non-finite steps in a row at step %d; the last good checkpoint is %s")
                    :format(bad_in_a_row, step + 1, fs.exists(last_path) and last_path or "(none yet)"))
            end
        else
            bad_in_a_row = 0
            opt:step(norms)
            step = step + 1
            local dt = now() - t_step
            train_seconds = train_seconds + dt
            window_images = window_images + n
            local since = now() - window_start
            if since >= 2 or img_per_s == 0 then
                img_per_s = window_images / since
                window_start, window_images = now(), 0
            end
            progress:update{step = step, epoch = loader:epochs_done(), img_per_s = img_per_s, bpd = bpd,
                            elapsed = training_clock()}
            if step % r.train.log_every == 0 then
                metric{kind = "train", step = step, epoch = loader:epochs_done(), train_bpd = bpd,
                       img_per_s = img_per_s, lr = opt:learning_rate(), grad_norm = math.sqrt(norms.decay ^ 2 + norms.rest ^ 2),
                       seconds = train_seconds, ranks = ranks > 1 and ranks or nil,
                       allreduce_wait_seconds = ranks > 1 and grads.wait_seconds or nil,
                       allreduce_bytes = ranks > 1 and dist.bytes_reduced() or nil}
            end
        end
    end
    progress:finish()

    if stop_reason == "interrupted" then
        save(last_path)
        say(("interrupted at step %d: saved %s; run the same command again to resume"):format(step, last_path))
        return {step = step, run_dir = dir, interrupted = true}
    end
    local h = heldout_bpd(r.eval.bn_images)
    local fixed = r.eval.bn_images > 0 and {bn_images = r.eval.bn_images} or {}
    metric{kind = "eval", step = step, heldout_bpd = h, seconds = train_seconds, final = true,
           bn_images = fixed.bn_images}
    if h < best then
        best = h
        save(best_path, fixed)
    end
    fixed.heldout_bpd = h
    save(last_path, fixed)
    if r.sample.n > 0 and root then
        local ok_png, perr = M.save_samples(model, dir .. "/samples.png", r.sample.n, r.sample.temperature, r.seed + 2)
        if not ok_png then error(perr, 0) end
    end
    say(("step %d (%s, %.1f min of training%s): %s bits/dim %.4f; wrote %s"):format(step, stop_reason,
        train_seconds / 60, bad_total > 0 and (", %d steps skipped"):format(bad_total) or "",
        r.data.heldout == "test" and "test" or "held-out", h, dir))
    return {step = step, heldout_bpd = h, run_dir = dir}
end

return M
