-- nvp.dist: data-parallel training over many processes (`mpirun -np N build/nvp train RECIPE.lua`),
-- one path for one rank or many. The engine's dist layer (engine/src/dist/dist.c) is the only caller
-- of MPI; in a single process every reduction here leaves its values as they are, so the same code
-- runs with and without mpirun.
--
-- The model of a step: every rank holds the same parameters and reads the same global batch from
-- the loader, computes the loss and the gradients on its own slice (`shard`), and `Gradients`
-- averages the gradients (one allreduce after the backward, or one per flow layer started during
-- it), so every rank applies the same update. Batch norm layers may reduce their statistics over
-- ranks too (`sync_batchnorm`).
--
--   local dist = require "nvp.dist"
--   dist.init()
--   local first, n = dist.shard(64)          -- this rank's images [first, first + n) of a batch of 64
--   local grads = dist.Gradients.new(model)  -- after backward: grads:average()
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local now = require "nvp.clock"
local C, check = nffi.C, nffi.check

local M = {}

--- Join the job when mpirun started this process (idempotent); returns rank, size.
function M.init()
    check(C.nvp_dist_init(), 2)
    return M.rank(), M.size()
end

function M.rank() return C.nvp_dist_rank() end
function M.size() return C.nvp_dist_size() end
function M.is_root() return C.nvp_dist_rank() == 0 end
--- The number of ranks on this machine.
function M.local_size() return C.nvp_dist_local_size() end

--- This rank's contiguous part of `count` items: first (0-based) and n. Parts differ by at most one
-- item, the larger ones first, and cover [0, count) in rank order.
function M.shard(count, rank, size)
    rank, size = rank or M.rank(), size or M.size()
    local base, extra = math.floor(count / size), count % size
    local first = rank * base + math.min(rank, extra)
    return first, base + (rank < extra and 1 or 0)
end

--- The per-rank batch of a global batch; every rank must get the same number of images (so the mean
-- of the ranks' mean losses is the global mean, and synchronised batch norm sees equal weights).
function M.local_batch(batch, size)
    size = size or M.size()
    if batch % size ~= 0 then
        error(("train.batch = %d does not split evenly over %d ranks: use a multiple of %d"):format(batch, size,
            size), 0)
    end
    return batch / size
end

local scratch = ffi.new("double[16]")

--- Sum Lua numbers over ranks: sum{a, b, ...} -> {sum a, sum b, ...} (in double).
function M.sum(values)
    local n = #values
    assert(n <= 16, "dist.sum: at most 16 values")
    for i = 1, n do scratch[i - 1] = values[i] end
    check(C.nvp_dist_allreduce_sum_f64(scratch, n), 2)
    local out = {}
    for i = 1, n do out[i] = scratch[i - 1] end
    return out
end

--- Sum n doubles at ptr over ranks, in place.
function M.sum_f64(ptr, n)
    check(C.nvp_dist_allreduce_sum_f64(ptr, n), 2)
end

--- Sum a float tensor over ranks, in place.
function M.sum_tensor(t)
    check(C.nvp_dist_allreduce_sum_f32(t.data, t.numel), 2)
    return t
end

--- Rank root's bytes [ptr, ptr + nbytes) on every rank.
function M.broadcast(ptr, nbytes, root)
    check(C.nvp_dist_broadcast(ptr, nbytes, root or 0), 2)
end

--- Bytes this rank has passed to allreduces so far.
function M.bytes_reduced()
    return tonumber(C.nvp_dist_bytes_reduced())
end

--- Stop every rank on a failure that every rank reached at the same point (a decision made from
-- reduced values): rank 0 alone raises, so the message is printed once and the host's abort ends
-- the others, which wait in a barrier that rank 0 never enters. One rank: a plain error.
function M.fail(message)
    if not M.is_root() then check(C.nvp_dist_barrier()) end
    error(message, 0)
end

-- ---- gradients -------------------------------------------------------------------------------

local Gradients = {}
Gradients.__index = Gradients
M.Gradients = Gradients

-- Wrap a flow layer's backward passes (an instance field over the class method) so that its
-- bucket's reduction starts when it returns.
local function start_after_backward(layer, gradients, bucket)
    for _, method in ipairs{"backward", "backward_by_inverse"} do
        local original = layer[method]
        if original then
            layer[method] = function(...)
                local a, b = original(...)
                gradients:start(bucket)
                return a, b
            end
        end
    end
end

--- The averaging of a model's gradients over ranks, through one flat float buffer laid out in
-- buckets. opts.overlap = false: one bucket, reduced by one allreduce after the backward.
-- opts.overlap = true: one bucket per flow layer that has parameters (each layer of every Sequence,
-- e.g. a coupling, containers such as FactorOut opened), whose reduction starts as soon as that layer's backward returns, while the layers
-- before it are still differentiated (its parameters are used by no other layer, so its gradients
-- are final); average() then waits for them.
function Gradients.new(model, opts)
    local self = setmetatable({buckets = {}, numel = 0, overlap = opts ~= nil and opts.overlap == true,
                               wait_seconds = 0}, Gradients)
    local taken = {}
    local function bucket_of(module)
        local b = {grads = {}, first = self.numel, numel = 0}
        module:each_parameter(function(_, _, g)
            if not taken[g] then
                taken[g] = true
                b.grads[#b.grads + 1] = g
                b.numel = b.numel + g.numel
            end
        end)
        if b.numel == 0 then return nil end
        self.numel = self.numel + b.numel
        self.buckets[#self.buckets + 1] = b
        return b
    end
    if self.overlap then
        local function visit(module)
            if module.layers then -- a Sequence: its layers are the buckets
                for _, layer in ipairs(module.layers) do
                    if layer.layers or layer.inner then
                        visit(layer)             -- a container (a FactorOut's inner level): its layers
                    else
                        local b = bucket_of(layer)
                        if b then start_after_backward(layer, self, b) end
                    end
                end
                return
            end
            for _, child in ipairs(module._children or {}) do visit(child.module) end
        end
        visit(model)
    end
    bucket_of(model) -- every parameter not in a layer's bucket (all of them without overlap)
    self.flat = ffi.gc(ffi.cast("float *", C.nvp_alloc(math.max(self.numel, 1) * 4)), C.nvp_free)
    if self.flat == nil then error(nffi.last_error(), 2) end
    self.request = ffi.new("int32_t[1]")
    return self
end

--- Bytes one average() reduces (each rank sends and receives about twice this with a ring allreduce).
function Gradients:bytes()
    return self.numel * 4
end

--- Copy a bucket's gradients into the flat buffer and start its reduction (once per step).
function Gradients:start(b)
    if M.size() == 1 or b.request then return end
    local at = self.flat + b.first
    for _, g in ipairs(b.grads) do
        ffi.copy(at, g.data, g.numel * 4)
        at = at + g.numel
    end
    check(C.nvp_dist_iallreduce_sum_f32(self.flat + b.first, b.numel, self.request), 2)
    b.request = self.request[0]
    check(C.nvp_dist_progress(), 2)
end

--- Every gradient = its mean over ranks. One rank: nothing to do (the same values, bit for bit).
function Gradients:average()
    local size = M.size()
    if size == 1 then return end
    for _, b in ipairs(self.buckets) do self:start(b) end
    local t0 = now()
    for _, b in ipairs(self.buckets) do
        check(C.nvp_dist_wait(b.request), 2)
        b.request = nil
    end
    self.wait_seconds = self.wait_seconds + (now() - t0)
    for _, b in ipairs(self.buckets) do
        local at = self.flat + b.first
        for _, g in ipairs(b.grads) do
            check(C.nvp_scale(g.data, at, 1 / size, 0, g.numel), 2)
            at = at + g.numel
        end
    end
end

-- ---- batch norm --------------------------------------------------------------------------------

-- Every batch-norm layer of a model (modules with running statistics), in order.
local function batchnorm_layers(model)
    local found = {}
    local function visit(module)
        local b = module._buffers
        if b and b.running_mean and b.running_var then found[#found + 1] = module end
        for _, child in ipairs(module._children or {}) do visit(child.module) end
    end
    visit(model)
    return found
end

--- Synchronised batch norm: every batch-norm layer computes its training statistics (and the
-- backward's sums) over all ranks' parts of the batch. Returns the number of layers.
function M.sync_batchnorm(model, on)
    local layers = batchnorm_layers(model)
    for _, bn in ipairs(layers) do bn.sync = on ~= false and M or nil end
    return #layers
end

--- Running averages = their mean over ranks (for unsynchronised batch norm, whose ranks saw
-- different batches), so that evaluation and checkpoints use one set on every rank.
function M.average_running_stats(model)
    local size = M.size()
    if size == 1 then return end
    for _, bn in ipairs(batchnorm_layers(model)) do
        for _, name in ipairs{"running_mean", "running_var"} do
            local t = bn._buffers[name]
            M.sum_tensor(t)
            check(C.nvp_scale(t.data, t.data, 1 / size, 0, t.numel), 2)
        end
    end
end

return M
