-- nvp.flow: a normalizing flow on images built from an nvp.nn description, with its loss.
--
--   local flow = require "nvp.flow"
--   local nn = require "nvp.nn"
--   local model = flow.new(nn.Sequence{nn.Coupling{}, nn.Coupling{parity = 1}}, {channels = 1, height = 28,
--                          width = 28}, {seed = 0})
--   local model = flow.RealNVP.new{channels = 1, size = 28, scales = 2, width = 32, blocks = 4}  -- the paper's
--   local nll, bpd = model:loss(images_u8_batch, n, rng)    -- forward with the preprocessing
--   model:backward()                                        -- gradients of the mean NLL (nats)
--   local x = model:sample(64, rng, 1.0)                    -- uint8 images
--
-- A model is its preprocessing (nn.Dequantize, nn.Logit: the description's first layers, or these with
-- the default alpha), the flow (the rest), and a standard normal prior on z, which has the input's
-- shape. Loss (docs/REFERENCE.md 2.5; preprocess.md in lua/nvp/layers):
--   NLL = -(log N(z; 0, I) + logdet_pre + sum logdet) + D ln 256 nats;  bits/dim = NLL / (D ln 2)
-- model:architecture() is the whole description as data, with the image dims: what a checkpoint
-- stores and flow.from_architecture rebuilds.
--
-- Modes (model:train(), the default, and model:evaluate()): in training, forward and loss normalise
-- with the batch's statistics and fold them into the running averages (the model's state changes);
-- in evaluation they use the running averages and change nothing. inverse, decode and sample never
-- change the model's state: in training mode they use the batch's statistics without folding them in.
-- Every entry point refuses, in one line naming it and the tensor, a non-finite input (model.check_finite
-- = false skips that pass), an empty batch, a bad temperature (nvp.guard).
--
-- recompute = true: the forward keeps only z (and the factored-out halves); backward walks the
-- layers in reverse, rebuilding each one's input from its output by the exact inverse and re-running
-- that coupling's s/t network, so activation memory is one s/t network's, whatever the number of
-- couplings (the layers share buffers, Module:share_buffers). Gradients equal the stored path's to
-- float32 rounding; the price is one more s/t forward per coupling. NVP_RECOMPUTE=1 in the
-- environment makes it the default (to run the specs on that path).
--
-- refresh = k (stored path only): the middle ground. The k couplings with the largest s/t networks
-- (most feature-map bytes; the first in forward order among equals) keep no s/t activations: each
-- shares them with the last coupling of the same s/t shape, whose backward runs before its own, and
-- re-runs its s/t forward on its stored input when its backward comes (batch statistics again, the
-- running averages left alone), so gradients are the stored path's bit for bit. Each such coupling
-- saves its (2B + 1) maps for one more s/t forward (about a third of that coupling's step). refresh =
-- "auto", the default, refreshes the one largest network (when a coupling of its shape can lend its
-- buffers): on the reference networks 12 % of the peak (cifar-ref 2290 -> 2014 MB) for one s/t forward
-- in ten, ~3 % of a step (experiments/results/memory.md).
local ffi = require "ffi"
local T = require "nvp.tensor"
local Rng = require "nvp.rng"
local nffi = require "nvp.ffi"
local nn = require "nvp.nn"
local Module = require "nvp.layers.module"
local ws = require "nvp.workspace"
local guard = require "nvp.guard"
local C, check = nffi.C, nffi.check

local M = {}

local LOG_2PI = math.log(2 * math.pi)
local sum_of_squares = ffi.new("double[1]")  -- nvp_sum's output, made once rather than every step

local Flow = Module.class()
M.Flow = Flow

M.OPTIONS = {seed = 0, alpha = 0.05, recompute = os.getenv("NVP_RECOMPUTE") == "1", refresh = "auto", arch = false}

local function check_options(o)
    if type(o.recompute) ~= "boolean" then
        error(("model: 'recompute' must be true or false, got %s"):format(tostring(o.recompute)), 4)
    end
    local r = o.refresh
    if r == "auto" then return end
    if type(r) ~= "number" or r < 0 or r ~= math.floor(r) then
        error(("model: 'refresh' must be a whole number >= 0 or \"auto\", got %s"):format(tostring(r)), 4)
    end
    if r > 0 and o.recompute then
        error("model: 'refresh' is for the stored path; with 'recompute' = true every coupling already "
            .. "rebuilds its s/t network", 4)
    end
end

-- The description split into its preprocessing (defaults where absent) and its flow (a Sequence).
local function split_preprocessing(desc, alpha)
    local layers = desc.layer == "Sequence" and desc.args.layers or {desc}
    local i = 1
    local deq, logit
    if layers[i] and layers[i].layer == "Dequantize" then deq, i = layers[i], i + 1 end
    if layers[i] and layers[i].layer == "Logit" then logit, i = layers[i], i + 1 end
    local rest = {}
    for j = i, #layers do rest[#rest + 1] = layers[j] end
    for _, l in ipairs(rest) do
        if l.layer == "Dequantize" or l.layer == "Logit" then
            error(("model: nn.%s must come first (the preprocessing: nn.Dequantize, then nn.Logit)"):format(l.layer), 4)
        end
    end
    if #rest == 0 then error("model: the description has no flow layers after its preprocessing", 4) end
    local body
    if #rest == 1 and rest[1].layer == "Sequence" then
        body = rest[1]
    elseif i == 1 and desc.layer == "Sequence" then
        body = desc
    else
        body = nn.Sequence(rest)
    end
    return deq or nn.Dequantize{}, logit or nn.Logit{alpha = alpha}, body
end

-- How many latents split_latents gives: one per FactorOut at the end of a level, plus the last.
local function count_levels(module)
    if module.layers then return count_levels(module.layers[#module.layers]) end
    if module.split_latents and module.inner then return 1 + count_levels(module.inner) end
    return 1
end

--- A model from an nvp.nn description for images of dims {channels, height, width}.
-- opts: seed (initial weights), alpha (of the default nn.Logit), recompute, refresh (see the top),
-- arch ({name, knobs, summary} of a named architecture, for printing).
function M.new(desc, dims, opts)
    if not nn.is_desc(desc) then
        error(("model: expects an nvp.nn description (e.g. nn.Sequence{...}), got %s"):format(type(desc)), 2)
    end
    local o = {}
    for k, v in pairs(M.OPTIONS) do o[k] = v end
    for k, v in pairs(opts or {}) do
        if M.OPTIONS[k] == nil then error(("model: unknown option '%s'"):format(tostring(k)), 2) end
        o[k] = v
    end
    check_options(o)
    local self = Module.init(setmetatable({}, Flow))
    local deq, logit, body = split_preprocessing(desc, o.alpha)
    local shape = {dims.channels, dims.height, dims.width}
    for i, d in ipairs(shape) do
        if type(d) ~= "number" or d < 1 or d ~= math.floor(d) or d > 65536 then
            error(("model: image dims must be positive integers, got %s"):format(table.concat(shape, "x")), 2)
        end
    end
    local ctx = {rng = Rng.new(o.seed)}
    self.dequantize = nn.build(deq, shape, ctx)
    self.logit = nn.build(logit, shape, ctx)
    ctx.path = "model.flow"
    local module, out = nn.build(body, shape, ctx)
    if out[1] ~= shape[1] or out[2] ~= shape[2] or out[3] ~= shape[3] then
        error(("model: the flow must give z of its input's shape %s (unsqueeze what it squeezes), it gives %s")
            :format(table.concat(shape, "x"), table.concat(out, "x")), 2)
    end
    self.flow = self:add("flow", module)
    self.description = nn.Sequence{deq, logit, body}
    self.arch = o.arch or nil
    self.cfg = {channels = shape[1], height = shape[2], width_px = shape[3], alpha = self.logit.alpha,
                scales = count_levels(module), side_multiple = ctx.max_side or 1, recompute = o.recompute,
                refresh = o.refresh, seed = o.seed, classes = ctx.classes}
    self.dims = shape[1] * shape[2] * shape[3]
    -- the layers that read the batch's class labels (nn.ClassPrior): a class-conditional model
    self.label_layers = {}
    local function find(m)
        if m.set_labels then self.label_layers[#self.label_layers + 1] = m end
        for _, child in ipairs(m._children) do find(child.module) end
    end
    find(module)
    if o.recompute then self.flow:share_buffers("flow.") end
    if not o.recompute and o.refresh ~= 0 then
        self.cfg.refresh = M.plan_refresh(ctx.couplings or {}, o.refresh)
    end
    return self
end

local eval_models = 0

-- Every module of the tree rooted at m, parents first.
local function each_module(m, fn)
    fn(m)
    for _, child in ipairs(m._children) do each_module(child.module, fn) end
end

local function pack(...) return {n = select("#", ...), ...} end

--- fn() with the flow's layers sharing their buffers (Module:share_buffers, under a prefix of this
-- model's own), as the recompute path does in training: a forward or inverse then holds two layers'
-- activations instead of every layer's (Glow's evaluation at batch 500 peaked at 3.1 GB without). For
-- passes that run no backward (evaluation, sampling); every module's own buffers (and the refresh plan's
-- sharing) come back afterwards, on error too. Returns fn's results.
function Flow:inference(fn)
    if self.cfg.recompute or self.eval_sharing then return fn() end
    local saved = {}
    each_module(self.flow, function(m) saved[m] = {m._shared or false, m.shared or false} end)
    if not self.eval_prefix then
        eval_models = eval_models + 1
        self.eval_prefix = ("inference%d."):format(eval_models)
    end
    self.flow:share_buffers(self.eval_prefix)
    self.eval_sharing = saved
    local r = pack(pcall(fn))
    for m, was in pairs(saved) do m._shared, m.shared = was[1] or nil, was[2] or nil end
    self.eval_sharing = nil
    if not r[1] then error(r[2], 0) end
    return unpack(r, 2, r.n)
end

--- {flow = description data, dims = {channels, height, width}, arch = {name, knobs} or nil}: the model
-- as data (JSON-ready), for checkpoints.
function Flow:architecture()
    local a = self.arch
    return {flow = self.description:data(), dims = {channels = self.cfg.channels, height = self.cfg.height,
            width = self.cfg.width_px}, arch = a and {name = a.name, knobs = a.knobs} or nil}
end

--- The model of architecture data (Flow:architecture(), from a checkpoint): checked, rebuilt, no code
-- run. opts as for new (seed, recompute, refresh). Raises one line naming what is wrong.
function M.from_architecture(data, opts)
    if type(data) ~= "table" or type(data.dims) ~= "table" then error("model: architecture data without 'dims'", 2) end
    local desc = nn.from_data(data.flow, "model")
    local o = {}
    for k, v in pairs(opts or {}) do o[k] = v end
    local a = data.arch
    if type(a) == "table" and type(a.name) == "string" and type(a.knobs) == "table" then
        local ok, arch = pcall(require, "nvp.arch." .. a.name:gsub("[^%w_]", ""))
        if ok and arch.summary and pcall(arch.summary, a.knobs) then
            o.arch = {name = a.name, knobs = a.knobs, summary = arch.summary(a.knobs)}
        end
    end
    return M.new(desc, {channels = data.dims.channels, height = data.dims.height, width = data.dims.width}, o)
end

--- The side multiple of 2 every image side must be (one factor of 2 per nested squeeze).
function M.side_multiple(model_or_scales)
    if type(model_or_scales) == "number" then return 2 ^ (model_or_scales - 1) end
    return model_or_scales.cfg.side_multiple
end

--- refresh = k (see the top): pick the couplings and pair each with the last of its s/t shape.
-- k = "auto": the largest one, if any can refresh. More buys memory at the same price each (one more s/t
-- forward); on the reference networks every coupling costs the same, one tenth of the forward.
-- couplings: {layer, order, h, w} in forward order (what nn.build collects). Returns the number chosen.
function M.plan_refresh(couplings, k)
    local keeper = {} -- s/t shape -> the last coupling of that shape in forward order
    for _, c in ipairs(couplings) do
        local st = c.layer.st
        c.bytes = st.width * c.h * c.w
        c.shape = ("%d,%d,%d,%d"):format(st.inputs, st.width, c.h, c.w)
        keeper[c.shape] = c
    end
    local candidates = {}
    for _, c in ipairs(couplings) do
        if keeper[c.shape] ~= c then candidates[#candidates + 1] = c end
    end
    table.sort(candidates, function(a, b)
        if a.bytes ~= b.bytes then return a.bytes > b.bytes end
        return a.order < b.order
    end)
    if k == "auto" then k = math.min(1, #candidates) end
    if k > #candidates then
        error(("model: 'refresh' = %d, but only %d couplings can refresh (every s/t shape keeps its last "
            .. "coupling's activations)"):format(k, #candidates), 3)
    end
    for i = 1, k do
        local c = candidates[i]
        local prefix = "refresh." .. c.shape .. "."
        c.layer:refresh_st_in_backward(prefix)
        keeper[c.shape].layer.st:share_buffers(prefix)
    end
    return k
end

--- z, logdet (N) of the flow alone, for x already in logit space: (N, C, H, W).
function Flow:forward(x)
    guard.images_tensor(self, "model:forward", "x", x)
    guard.finite(self, "model:forward", "x", x)
    ws.use_batch(x.shape[1])
    return self.flow:forward(x)
end

function Flow:inverse(z)
    guard.images_tensor(self, "model:inverse", "z", z)
    guard.finite(self, "model:inverse", "z", z)
    ws.use_batch(z.shape[1])
    return self.flow:inverse(z)
end

--- Gradient of the flow for dz and dlogdet (N) after forward(x) gave z; returns dL/dx.
function Flow:backward_flow(x, dz, dlogdet, z)
    if self.cfg.recompute then return (self.flow:backward_by_inverse(z, dz, dlogdet)) end
    return self.flow:backward(x, dz, dlogdet)
end

--- The latents of z per scale, finest first (information-loss figure); join_latents inverts.
function Flow:split_latents(z)
    return self.flow:split_latents(z)
end

function Flow:join_latents(parts)
    return self.flow:join_latents(parts)
end

-- ---- preprocessing and loss -------------------------------------------------------------------

--- Dequantise and logit-transform uint8 images (an images batch, nvp.data.images, or a pointer to
-- N*C*H*W bytes with its count n): returns y (N, C, H, W)
-- in logit space and logdet_pre (N), the log-det of u = v / 256 -> y. noise = false uses u = 0.5 (no rng).
function Flow:preprocess(pixels, n, rng, noise)
    pixels, n = guard.pixels(self, "model:preprocess", pixels, n)
    local v = self.dequantize:forward(pixels, {self.cfg.channels, self.cfg.height, self.cfg.width_px}, n, rng, noise)
    return self.logit:transform(v, "pre")
end

--- Per-sample NLL in nats from z, the flow's logdet and the preprocessing's logdet, into `out` (N).
function Flow:nll_from(z, logdet, logdet_pre, out)
    local n = z.shape[1]
    local d = self.dims
    out = out or self:buffer("nll", {n})
    local sq = sum_of_squares
    for i = 0, n - 1 do
        check(C.nvp_sum(nil, sq, z.data + i * d, d), 2)
        local log_pz = -0.5 * (sq[0] + d * LOG_2PI)
        out.data[i] = -(log_pz + logdet_pre.data[i] + logdet.data[i]) + d * math.log(256)
    end
    return out
end

--- The class labels of the next batches (a 0-based Lua table or FFI array of N class indices, or a
-- number: every image of that class) for a class-conditional model (nn.ClassPrior); nil clears them.
-- A model without class-conditional layers ignores them.
function Flow:set_labels(labels)
    if type(labels) == "number" then
        local k = labels
        if self.cfg.classes and (k < 0 or k >= self.cfg.classes or k ~= math.floor(k)) then
            error(("model: class %s is not in [0, %d)"):format(tostring(k), self.cfg.classes), 2)
        end
        labels = setmetatable({}, {__index = function() return k end})
    end
    for _, layer in ipairs(self.label_layers) do layer:set_labels(labels) end
    self.labels = labels
    return self
end

--- True when the model's density depends on a class label (it has an nn.ClassPrior).
function Flow:is_conditional()
    return #self.label_layers > 0
end

--- Forward pass with the loss on a batch of uint8 images (an images batch, or a pointer to N*C*H*W
-- bytes with its count n; n >= 1); labels (optional: the images' classes, for a class-conditional
-- model; see set_labels).
-- Returns the mean NLL in nats and bits/dim; remembers what backward() needs.
function Flow:loss(pixels, n, rng, noise, labels)
    pixels, n = guard.pixels(self, "model:loss", pixels, n)
    if labels ~= nil then self:set_labels(labels) end
    local y, logdet_pre = self:preprocess(pixels, n, rng, noise)
    local z, logdet = self:forward(y)
    local nll = self:nll_from(z, logdet, logdet_pre)
    local mean = nll:mean()
    self.last = {y = y, z = z}
    return mean, mean / (self.dims * math.log(2)), nll
end

--- NLL in nats of every image under every class, -log p(x | k): a table {[0] = Tensor (N), ...,
-- [classes - 1] = ...} for a class-conditional model (the same dequantisation noise for every class).
-- argmax_k p(x | k) = argmin_k nll[k] classifies by likelihood. Leaves the labels at the last class.
function Flow:class_nll(pixels, n, rng, noise)
    local classes = self.cfg.classes
    if not self:is_conditional() then error("model: class_nll needs a class-conditional model (nn.ClassPrior)", 2) end
    local y, logdet_pre = self:preprocess(pixels, n, rng, noise)
    local out = {}
    for k = 0, classes - 1 do
        self:set_labels(k)
        local z, logdet = self:forward(y)
        out[k] = self:nll_from(z, logdet, logdet_pre, T.empty{n})
    end
    return out
end

--- Gradients of the batch-mean NLL (nats) after loss(): dz = z / N, dlogdet = -1 / N.
function Flow:backward()
    local last = assert(self.last, "realnvp: backward() before loss()")
    local z = last.z
    local n = z.shape[1]
    local dz = self:buffer("dz", z.shape)
    check(C.nvp_scale(dz.data, z.data, 1 / n, 0, z.numel), 2)
    local dlogdet = self:buffer("dlogdet", {n}):fill(-1 / n)
    return self:backward_flow(last.y, dz, dlogdet, z)
end

--- Decode latents z (N, C, H, W) to uint8 pixels (N*C*H*W bytes, a new buffer).
function Flow:decode(z)
    return self.dequantize:inverse(self.logit:inverse(self:inverse(z)))
end

--- n samples at temperature t (z ~ N(0, t^2 I)) of size height x width (default: the training size;
-- any multiple of the side multiple works, the model being convolutional). Batch norm uses running
-- averages unless the caller keeps the model in training mode. labels: the classes to draw from (a
-- number or N labels, see set_labels) for a class-conditional model; absent: class i % classes for image i.
function Flow:sample(n, rng, temperature, height, width, labels)
    if type(n) ~= "number" or n < 1 or n ~= math.floor(n) then
        error(("model:sample: n must be a positive integer, got %s"):format(tostring(n)), 2)
    end
    guard.temperature("model:sample", temperature or 1)
    local previous = self.labels
    if self:is_conditional() then
        if labels == nil then
            local k = self.cfg.classes
            labels = setmetatable({}, {__index = function(_, i) return i % k end})
        end
        self:set_labels(labels)
    end
    height, width = height or self.cfg.height, width or self.cfg.width_px
    local m = self.cfg.side_multiple
    if height % m ~= 0 or width % m ~= 0 or height < m or width < m then
        error(("model.sample: %dx%d is not a valid size: with %d scales the sides must be positive multiples "
            .. "of %d"):format(height, width, self.cfg.scales, m), 2)
    end
    local z = T.empty{n, self.cfg.channels, height, width}
    rng:normal(z, 0, temperature or 1)
    local px = self:inference(function() return self:decode(z) end)
    if self:is_conditional() then self:set_labels(previous) end -- the batches' labels as they were
    return px, z
end

function Flow:__tostring()
    local c = self.cfg
    local what = self.arch and ("%s(%dx%dx%d, %s"):format(self.arch.name == "realnvp" and "RealNVP" or self.arch.name,
        c.channels, c.height, c.width_px, self.arch.summary) or ("Flow(%dx%dx%d, %d levels, %d couplings"):format(
        c.channels, c.height, c.width_px, c.scales, self:count_layers("Coupling") + self:count_layers("GlowCoupling"))
    return ("%s%s, %d parameters)"):format(what, c.recompute and ", recompute by inverse" or "", self:parameter_count())
end

--- fn(module) for every flow layer of the model in forward order (containers before their layers).
function Flow:each_layer(fn)
    local function walk(m)
        fn(m)
        if m.layers then for _, l in ipairs(m.layers) do walk(l) end end
        if m.inner then walk(m.inner) end
    end
    walk(self.flow)
end

--- How many layers of a registered type (e.g. "Coupling") the flow has.
function Flow:count_layers(name)
    local n = 0
    local function walk(d)
        if d.layer == name then n = n + 1 end
        for _, v in pairs(d.args) do
            if nn.is_desc(v) then walk(v)
            elseif type(v) == "table" then for _, item in ipairs(v) do walk(item) end end
        end
    end
    walk(self.description)
    return n
end

--- One line for the page and the logs.
function Flow:summary()
    return tostring(self)
end

-- ---- the paper's architecture, for scripts and specs ---------------------------------------------

M.RealNVP = {}

--- flow.RealNVP.new{channels, size (or height, width_px), scales, width, blocks, flow_batchnorm, alpha,
-- seed, recompute, refresh}: the model nvp.arch.realnvp builds with these knobs.
function M.RealNVP.new(cfg)
    local arch = require "nvp.arch.realnvp"
    local knobs, opts = {}, {}
    for _, k in ipairs(arch.KNOBS) do knobs[k[1]] = k[3] end
    local dims = {channels = 3, height = 32, width = 32}
    for k, v in pairs(cfg) do
        if k == "channels" then dims.channels = v
        elseif k == "size" then dims.height, dims.width = v, v
        elseif k == "height" then dims.height = v
        elseif k == "width_px" then dims.width = v
        elseif M.OPTIONS[k] ~= nil and k ~= "arch" then opts[k] = v
        else
            local known = false
            for _, spec in ipairs(arch.KNOBS) do known = known or spec[1] == k end
            if not known then error(("realnvp: unknown option '%s'"):format(tostring(k)), 2) end
            knobs[k] = v
        end
    end
    local why = arch.check(knobs, dims.height, dims.width)
    if why then error("realnvp: " .. why, 2) end
    opts.arch = {name = "realnvp", knobs = knobs, summary = arch.summary(knobs)}
    return M.new(arch.build(nn, dims, knobs), dims, opts)
end

return M
