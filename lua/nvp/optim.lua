-- nvp.optim: Adam (Kingma & Ba 2015) over a module's parameters, with the paper's L2 penalty on
-- the weight-norm scales (coupled: added to the gradient, as the reference's torch.optim.Adam
-- weight_decay), gradient-norm clipping per group (docs/REFERENCE.md 2.5: {g's} and {everything else},
-- each clipped to `clip`), optional linear learning-rate warm-up, and optional Polyak averaging
-- (an exponential moving average of the weights, used for evaluation).
--
--   local opt = optim.Adam.new(model, {lr = 1e-3, l2 = 5e-5, clip = 100})
--   model:zero_grad(); model:backward(); local norms = opt:step()
local ffi = require "ffi"
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local C, check = nffi.C, nffi.check

local M = {}

local Adam = {}
Adam.__index = Adam
M.Adam = Adam

M.DEFAULTS = {lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, l2 = 5e-5, clip = 100, warmup = 0, polyak = 0}

function Adam.new(model, cfg)
    local self = setmetatable({cfg = {}, step_count = 0, entries = {}, groups = {decay = {}, rest = {}}}, Adam)
    for k, v in pairs(M.DEFAULTS) do self.cfg[k] = v end
    for k, v in pairs(cfg or {}) do
        if M.DEFAULTS[k] == nil then error(("adam: unknown option '%s'"):format(k), 2) end
        self.cfg[k] = v
    end
    model:each_parameter(function(name, p, g, decay)
        local e = {name = name, param = p, grad = g, decay = decay, m = T.zeros(p.shape), v = T.zeros(p.shape)}
        if self.cfg.polyak > 0 then e.ema = p:clone() end
        self.entries[#self.entries + 1] = e
        local group = decay and self.groups.decay or self.groups.rest
        group[#group + 1] = e
    end)
    return self
end

local sq = ffi.new("double[1]")

-- L2 norm of a group's gradients, and the number of non-finite gradient values.
local function group_norm(group)
    local total, bad = 0, 0
    for _, e in ipairs(group) do
        check(C.nvp_sum(nil, sq, e.grad.data, e.grad.numel), 3)
        total = total + sq[0]
    end
    if total ~= total or total == math.huge then
        for _, e in ipairs(group) do bad = bad + e.grad:count_nonfinite() end
    end
    return math.sqrt(total), bad
end

--- The learning rate at the next step (warm-up ramps linearly over cfg.warmup steps).
function Adam:learning_rate()
    local cfg = self.cfg
    local t = self.step_count + 1
    if cfg.warmup > 0 and t < cfg.warmup then return cfg.lr * t / cfg.warmup end
    return cfg.lr
end

--- Gradient norms before clipping: {decay = ., rest = ., nonfinite = count}. Nothing is updated when
-- a gradient is not finite; the caller decides what to do (skip the step).
function Adam:grad_norms()
    local nd, bd = group_norm(self.groups.decay)
    local nr, br = group_norm(self.groups.rest)
    return {decay = nd, rest = nr, nonfinite = bd + br}
end

--- Clip each group to cfg.clip and apply one Adam update. Returns the norms before clipping.
function Adam:step(norms)
    norms = norms or self:grad_norms()
    if norms.nonfinite > 0 then return norms end
    local cfg = self.cfg
    for gname, group in pairs(self.groups) do
        local norm = norms[gname]
        if cfg.clip > 0 and norm > cfg.clip then
            local f = cfg.clip / (norm + 1e-6)
            for _, e in ipairs(group) do e.grad:scale(f) end
        end
    end
    local lr = self:learning_rate()
    self.step_count = self.step_count + 1
    local t = self.step_count
    for _, e in ipairs(self.entries) do
        check(C.nvp_adam_step(e.param.data, e.m.data, e.v.data, e.grad.data, e.param.numel, lr, cfg.beta1,
            cfg.beta2, cfg.eps, e.decay and cfg.l2 or 0, t), 2)
        if e.ema then
            -- ema = polyak * ema + (1 - polyak) * param
            check(C.nvp_scale(e.ema.data, e.ema.data, cfg.polyak, 0, e.ema.numel), 2)
            check(C.nvp_axpy(e.ema.data, 1 - cfg.polyak, e.param.data, e.ema.numel), 2)
        end
    end
    return norms
end

--- Swap the live weights with the Polyak averages (call twice to swap back). No-op without Polyak.
function Adam:swap_ema()
    if self.cfg.polyak <= 0 then return false end
    for _, e in ipairs(self.entries) do
        local tmp = e.param:clone()
        e.param:copy(e.ema)
        e.ema:copy(tmp)
    end
    return true
end

--- {name -> Tensor} of the optimiser's state (moments and averages), for checkpoints.
function Adam:state()
    local out = {}
    for _, e in ipairs(self.entries) do
        out["adam.m." .. e.name] = e.m
        out["adam.v." .. e.name] = e.v
        if e.ema then out["adam.ema." .. e.name] = e.ema end
    end
    return out
end

function Adam:load_state(tensors, step)
    for _, e in ipairs(self.entries) do
        for _, kind in ipairs{"m", "v", "ema"} do
            local t = e[kind]
            if t then
                local src = tensors["adam." .. kind .. "." .. e.name]
                if src == nil then error(("adam: the checkpoint has no 'adam.%s.%s'"):format(kind, e.name), 2) end
                t:check_same_shape(src, "adam." .. kind .. "." .. e.name, 2)
                t:copy(src)
            end
        end
    end
    self.step_count = step
end

return M
