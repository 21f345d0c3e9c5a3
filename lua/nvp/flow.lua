-- nvp.flow: the Real NVP model (Dinh et al. 2017) built from a recipe's knobs, with its loss.
--
--   local flow = require "nvp.flow"
--   local model = flow.RealNVP.new{channels = 1, size = 28, scales = 2, width = 32, blocks = 4, seed = 0}
--   local nll, bpd = model:loss(images_u8_batch, rng)    -- forward with the preprocessing
--   model:backward()                                     -- gradients of the mean NLL (nats)
--   local x = model:sample(64, rng, 1.0)                 -- uint8 images
--
-- Architecture (docs/REFERENCE.md 2.2; paper Sec. 3.6): scale k of S works on C 2^k channels with s/t
-- width F 2^k; scales before the last have 3 checkerboard couplings (parities 0,1,0), squeeze A,
-- 3 channel-wise couplings (width 2 F 2^k), unsqueeze A, then factor out half (squeeze B); the last
-- scale has 4 checkerboard couplings (0,1,0,1). Optional flow batch norm after every coupling
-- (paper Sec. 3.7). Loss (docs/REFERENCE.md 2.5, docs/ARCHITECTURE.md):
--   NLL = -(log N(z; 0, I) + logdet_pre + sum logdet) + D ln 256 nats;  bits/dim = NLL / (D ln 2)
--
-- recompute = true: the forward keeps only z (and the factored-out halves); backward walks the
-- layers in reverse, rebuilding each one's input from its output by the exact inverse and re-running
-- that coupling's s/t network, so activation memory is one s/t network's, whatever the number of
-- couplings (the layers share buffers, Module:share_buffers). Gradients equal the stored path's to
-- float32 rounding; the price is one more s/t forward per coupling. NVP_RECOMPUTE=1 in the
-- environment makes it the default of RealNVP.new (to run the specs on that path).
--
-- refresh = k (stored path only): the middle ground. The k couplings with the largest s/t networks
-- (most feature-map bytes; the first in forward order among equals) keep no s/t activations: each
-- shares them with the last coupling of the same s/t shape, whose backward runs before its own, and
-- re-runs its s/t forward on its stored input when its backward comes (batch statistics again, the
-- running averages left alone), so gradients are the stored path's bit for bit. Each such coupling
-- saves its (2B + 1) maps for one more s/t forward (about a third of that coupling's step).
local ffi = require "ffi"
local T = require "nvp.tensor"
local Rng = require "nvp.rng"
local nffi = require "nvp.ffi"
local Module = require "nvp.layers.module"
local Coupling = require "nvp.layers.coupling"
local Squeeze = require "nvp.layers.squeeze"
local FlowBatchNorm = require "nvp.layers.flow_batchnorm"
local Sequence = require "nvp.layers.sequence"
local Scale = require "nvp.layers.scale"
local ws = require "nvp.workspace"
local C, check = nffi.C, nffi.check

local M = {}

local LOG_2PI = math.log(2 * math.pi)
local sum_of_squares = ffi.new("double[1]")  -- nvp_sum's output, made once rather than every step

local RealNVP = Module.class()
M.RealNVP = RealNVP

M.DEFAULTS = {
    channels = 3, size = 32, height = nil, width_px = nil, scales = 2, width = 64, blocks = 8,
    flow_batchnorm = false, alpha = 0.05, seed = 0, recompute = os.getenv("NVP_RECOMPUTE") == "1", refresh = 0,
}

--- Image sides that a model with `scales` scales accepts: multiples of 2^(S-1).
function M.side_multiple(scales)
    return 2 ^ (scales - 1)
end

local function check_config(cfg)
    local function positive_int(key)
        local v = cfg[key]
        if type(v) ~= "number" or v < 1 or v ~= math.floor(v) then
            error(("realnvp: '%s' must be a positive integer, got %s"):format(key, tostring(v)), 4)
        end
    end
    for _, key in ipairs{"channels", "height", "width_px", "scales", "width", "blocks"} do positive_int(key) end
    if type(cfg.recompute) ~= "boolean" then
        error(("realnvp: 'recompute' must be true or false, got %s"):format(tostring(cfg.recompute)), 4)
    end
    local r = cfg.refresh
    if type(r) ~= "number" or r < 0 or r ~= math.floor(r) then
        error(("realnvp: 'refresh' must be a whole number >= 0, got %s"):format(tostring(r)), 4)
    end
    if r > 0 and cfg.recompute then
        error("realnvp: 'refresh' is for the stored path; with 'recompute' = true every coupling already "
            .. "rebuilds its s/t network", 4)
    end
    local m = M.side_multiple(cfg.scales)
    if cfg.height % m ~= 0 or cfg.width_px % m ~= 0 then
        error(("realnvp: a %dx%d image cannot be squeezed %d times: with scales = %d the sides must be "
            .. "multiples of %d"):format(cfg.height, cfg.width_px, cfg.scales - 1, cfg.scales, m), 4)
    end
end

-- The couplings (and optional flow batch norms) of scale k as one Sequence. Each coupling is also
-- listed in `couplings` with its place in forward order and its s/t network's shape.
local function build_scale_body(cfg, k, rng, couplings)
    local c = cfg.channels * 2 ^ k
    local f = cfg.width * 2 ^ k
    local last = k == cfg.scales - 1
    local layers = {}
    local function push(layer, side)
        layers[#layers + 1] = layer
        local h, w = cfg.height / side, cfg.width_px / side
        couplings[#couplings + 1] = {layer = layer, order = k * 100 + #layers, bytes = layer.st.width * h * w,
                                     shape = ("%d,%d,%d,%d"):format(layer.st.inputs, layer.st.width, h, w)}
        if cfg.flow_batchnorm then
            layers[#layers + 1] = FlowBatchNorm.new{channels = layer.channels}
        end
    end
    local ncheck = last and 4 or 3
    for i = 0, ncheck - 1 do
        push(Coupling.new{mask = "checkerboard", parity = i % 2, channels = c, width = f, blocks = cfg.blocks, rng = rng},
             2 ^ k)
    end
    if not last then
        layers[#layers + 1] = Squeeze.new{order = "A"}
        for i = 0, 2 do
            push(Coupling.new{mask = "channel", parity = i % 2, channels = 4 * c, width = 2 * f, blocks = cfg.blocks,
                              rng = rng}, 2 ^ (k + 1))
        end
        layers[#layers + 1] = Squeeze.new{order = "A", inverse = true}
    end
    return Sequence.new(layers, ("scale %d (%d channels, width %d)"):format(k, c, f))
end

--- cfg: channels, size (or height and width_px), scales, width (s/t feature maps), blocks,
-- flow_batchnorm, alpha (logit constraint), seed (initial weights), recompute (see the top).
function RealNVP.new(cfg)
    local self = Module.init(setmetatable({}, RealNVP))
    local full = {}
    for k, v in pairs(M.DEFAULTS) do full[k] = v end
    for k, v in pairs(cfg) do
        if M.DEFAULTS[k] == nil and k ~= "height" and k ~= "width_px" then
            error(("realnvp: unknown option '%s'"):format(tostring(k)), 2)
        end
        full[k] = v
    end
    full.height = full.height or full.size
    full.width_px = full.width_px or full.size
    check_config(full)
    self.cfg = full
    self.dims = full.channels * full.height * full.width_px
    local rng = Rng.new(full.seed)
    local inner
    local couplings = {}
    for k = full.scales - 1, 0, -1 do
        inner = Scale.new(build_scale_body(full, k, rng, couplings), inner)
    end
    self.flow = self:add("flow", inner)
    if full.recompute then self.flow:share_buffers("flow.") end
    if full.refresh > 0 then M.plan_refresh(couplings, full.refresh) end
    return self
end

--- refresh = k (see the top): pick the couplings and pair each with the last of its s/t shape.
function M.plan_refresh(couplings, k)
    table.sort(couplings, function(a, b) return a.order < b.order end)
    local keeper = {} -- s/t shape -> the last coupling of that shape in forward order
    for _, c in ipairs(couplings) do keeper[c.shape] = c end
    local candidates = {}
    for _, c in ipairs(couplings) do
        if keeper[c.shape] ~= c then candidates[#candidates + 1] = c end
    end
    if k > #candidates then
        error(("realnvp: 'refresh' = %d, but only %d couplings can refresh (every s/t shape keeps its last "
            .. "coupling's activations)"):format(k, #candidates), 3)
    end
    table.sort(candidates, function(a, b)
        if a.bytes ~= b.bytes then return a.bytes > b.bytes end
        return a.order < b.order
    end)
    for i = 1, k do
        local c = candidates[i]
        local prefix = "refresh." .. c.shape .. "."
        c.layer:refresh_st_in_backward(prefix)
        keeper[c.shape].layer.st:share_buffers(prefix)
    end
end

--- z, logdet (N) of the flow alone, for x already in logit space: (N, C, H, W).
function RealNVP:forward(x)
    ws.use_batch(x.shape[1])
    return self.flow:forward(x)
end

function RealNVP:inverse(z)
    ws.use_batch(z.shape[1])
    return self.flow:inverse(z)
end

--- Gradient of the flow for dz and dlogdet (N) after forward(x) gave z; returns dL/dx.
function RealNVP:backward_flow(x, dz, dlogdet, z)
    if self.cfg.recompute then return (self.flow:backward_by_inverse(z, dz, dlogdet)) end
    return self.flow:backward(x, dz, dlogdet)
end

--- The latents of z per scale, finest first (information-loss figure); join_latents inverts.
function RealNVP:split_latents(z)
    return self.flow:split_latents(z)
end

function RealNVP:join_latents(parts)
    return self.flow:join_latents(parts)
end

-- ---- preprocessing and loss -------------------------------------------------------------------

--- Dequantise and logit-transform uint8 images (an Images batch or a uint8 pointer with a shape):
-- returns y (N, C, H, W) in logit space and logdet_pre (N). noise = false uses u = 0.5 (no rng).
function RealNVP:preprocess(pixels, n, rng, noise)
    local shape = {n, self.cfg.channels, self.cfg.height, self.cfg.width_px}
    local count = n * self.dims
    local v = self:buffer("pre.v", shape)
    if noise == false or rng == nil then
        for i = 0, count - 1 do v.data[i] = pixels[i] + 0.5 end
    else
        check(C.nvp_dequantize(v.data, pixels, rng.seed, rng:take(count), count), 2)
    end
    local y = self:buffer("pre.y", shape)
    local logdet = self:zeroed("pre.logdet", {n})
    check(C.nvp_logit_forward(y.data, logdet.data, v.data, n, self.dims, self.cfg.alpha), 2)
    return y, logdet
end

--- Per-sample NLL in nats from z, the flow's logdet and the preprocessing's logdet, into `out` (N).
function RealNVP:nll_from(z, logdet, logdet_pre, out)
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

--- Forward pass with the loss on a batch of uint8 images (pointer to N*C*H*W bytes).
-- Returns the mean NLL in nats and bits/dim; remembers what backward() needs.
function RealNVP:loss(pixels, n, rng, noise)
    local y, logdet_pre = self:preprocess(pixels, n, rng, noise)
    local z, logdet = self:forward(y)
    local nll = self:nll_from(z, logdet, logdet_pre)
    local mean = nll:mean()
    self.last = {y = y, z = z}
    return mean, mean / (self.dims * math.log(2)), nll
end

--- Gradients of the batch-mean NLL (nats) after loss(): dz = z / N, dlogdet = -1 / N.
function RealNVP:backward()
    local last = assert(self.last, "realnvp: backward() before loss()")
    local z = last.z
    local n = z.shape[1]
    local dz = self:buffer("dz", z.shape)
    check(C.nvp_scale(dz.data, z.data, 1 / n, 0, z.numel), 2)
    local dlogdet = self:buffer("dlogdet", {n}):fill(-1 / n)
    return self:backward_flow(last.y, dz, dlogdet, z)
end

--- Decode latents z (N, C, H, W) to uint8 pixels (N*C*H*W bytes, a new buffer).
function RealNVP:decode(z)
    local y = self:inverse(z)
    local v = self:buffer("dec.v", y.shape)
    check(C.nvp_logit_inverse(v.data, y.data, y.numel, self.cfg.alpha), 2)
    local px = ffi.new("uint8_t[?]", y.numel)
    check(C.nvp_quantize(px, v.data, y.numel), 2)
    return px
end

--- n samples at temperature t (z ~ N(0, t^2 I)) of size height x width (default: the training size;
-- any multiple of 2^(S-1) works, the model being convolutional). Batch norm uses running averages
-- unless the caller keeps the model in training mode.
function RealNVP:sample(n, rng, temperature, height, width)
    height, width = height or self.cfg.height, width or self.cfg.width_px
    local m = M.side_multiple(self.cfg.scales)
    if height % m ~= 0 or width % m ~= 0 or height < m or width < m then
        error(("realnvp.sample: %dx%d is not a valid size: with %d scales the sides must be positive multiples "
            .. "of %d"):format(height, width, self.cfg.scales, m), 2)
    end
    local z = T.empty{n, self.cfg.channels, height, width}
    rng:normal(z, 0, temperature or 1)
    return self:decode(z), z
end

function RealNVP:__tostring()
    local c = self.cfg
    return ("RealNVP(%dx%dx%d, %d scales, width %d, %d blocks%s%s, %d parameters)"):format(c.channels, c.height,
        c.width_px, c.scales, c.width, c.blocks, c.flow_batchnorm and ", flow batch norm" or "",
        c.recompute and ", recompute by inverse" or "", self:parameter_count())
end

--- One line for the page and the logs.
function RealNVP:summary()
    return tostring(self)
end

return M
