-- nvp.layers.coupling: the affine coupling layer of Real NVP (paper Eq. 4-9; docs/REFERENCE.md 2.3),
-- checkerboard or channel-wise, with the fused C kernel doing the arithmetic. Derivation and the
-- backward formulas: coupling.md beside this file.
--
--   changing part:   y = (x + t) * exp(s),  s = lambda * tanh(s_raw),  (s_raw, t) = ST(conditioning)
--   conditioning:    y = x
--   log-det:         sum of s over the changing positions (per sample)
--   lambda_c = g_c * v_c / |v_c| (a weight-normalised per-channel scale; g = v = 1 at start)
--
--   x, y: (N, C, H, W); logdet: (N)
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local ws = require "nvp.workspace"
local Module = require "nvp.layers.module"
local STNet = require "nvp.layers.stnet"
local registry = require "nvp.layers.registry"
local C, check = nffi.C, nffi.check

local Coupling = Module.class()

local MASKS = {checkerboard = 0, channel = 1}

--- cfg: mask ("checkerboard" | "channel"), parity (0 | 1), channels (C), and either width, blocks, rng
-- (an s/t ResNet) or make_net(inputs, outputs, scale) returning the s/t network.
function Coupling.new(cfg)
    local self = Module.init(setmetatable({}, Coupling))
    local kind = MASKS[cfg.mask]
    if kind == nil then
        error(("coupling: unknown mask '%s' (valid: checkerboard, channel)"):format(tostring(cfg.mask)), 2)
    end
    if cfg.parity ~= 0 and cfg.parity ~= 1 then error("coupling: parity must be 0 or 1", 2) end
    local c = cfg.channels
    if kind == 1 and c % 2 ~= 0 then
        error(("coupling: a channel-wise mask needs an even channel count, got %d"):format(c), 2)
    end
    self.mask, self.kind, self.parity, self.channels = cfg.mask, kind, cfg.parity, c
    -- The s/t network sees all channels masked (checkerboard) or the conditioning half (channel).
    local n = kind == 0 and c or c / 2
    self.changing = n
    local scale = kind == 0 and 2 or 1 -- the checkerboard's masked input is rescaled (docs/REFERENCE.md 2.4)
    self.st = self:add("st", cfg.make_net and cfg.make_net(n, 2 * n, scale) or
        STNet.new{inputs = n, width = cfg.width, blocks = cfg.blocks, scale = scale, rng = cfg.rng})
    self:param("lam_g", T.full({n}, 1), {decay = true})
    self:param("lam_v", T.full({n}, 1))
    self.lam = T.empty{n}
    return self
end

-- lambda_c = g_c * v_c / |v_c|
function Coupling:lambda()
    local g, v, lam = self._params.lam_g.data, self._params.lam_v.data, self.lam.data
    for c = 0, self.changing - 1 do
        local vc = v[c]
        lam[c] = g[c] * (vc > 0 and 1 or (vc < 0 and -1 or 0))
    end
    return self.lam
end

local function check_input(self, x, level)
    if #x.shape ~= 4 or x.shape[2] ~= self.channels then
        error(("coupling: input %s, expected (N,%d,H,W)"):format(T.shape_string(x.shape), self.channels), level + 1)
    end
end

-- The s/t network's input: x * mask (checkerboard) or the conditioning channels (channel-wise).
-- `key` names the buffer, so an inverse pass does not overwrite what the backward pass needs.
function Coupling:conditioning(x, key)
    local n, c, h, w = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    if self.kind == 0 then
        local xm = self:buffer(key, x.shape)
        check(C.nvp_checker_mask(xm.data, x.data, n, c, h, w, self.parity, 0), 3)
        return xm
    end
    local half = c / 2
    local xc = self:buffer(key, {n, half, h, w})
    local first = self.parity == 0 and half or 0
    check(C.nvp_copy_channels(xc.data, half, 0, x.data, c, first, half, n, h * w, 0), 3)
    return xc
end

function Coupling:forward(x)
    check_input(self, x, 2)
    local n, c, h, w = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    self.x = x
    self.xc = self:conditioning(x, "xc")
    self.st_out = self.st:forward(self.xc)
    local lam = self:lambda()
    local y = self:buffer("y", x.shape)
    local logdet = self:zeroed("logdet", {n})
    check(C.nvp_coupling_forward(y.data, logdet.data, x.data, self.st_out.data, lam.data, n, c, h, w, self.kind,
        self.parity), 2)
    return y, logdet
end

function Coupling:inverse(y)
    check_input(self, y, 2)
    local n, c, h, w = y.shape[1], y.shape[2], y.shape[3], y.shape[4]
    local cond = self:conditioning(y, "yc") -- the conditioning part passes through unchanged
    -- inference changes no state: in training mode the batch's statistics, the running averages left alone
    local st_out = self.st:forward(cond, true)
    local x = self:buffer("x_inv", y.shape)
    check(C.nvp_coupling_inverse(x.data, y.data, st_out.data, self:lambda().data, n, c, h, w, self.kind,
        self.parity), 2)
    return x
end

--- The input of the last forward from its output y (recompute-by-inverse): the conditioning part is
-- the same in x and y, so the s/t network re-run on it rebuilds exactly the activations backward needs
-- (batch norm with the same batch statistics, running averages left alone); then the exact inverse.
function Coupling:recover(y)
    check_input(self, y, 2)
    local n, c, h, w = y.shape[1], y.shape[2], y.shape[3], y.shape[4]
    self.xc = self:conditioning(y, "xc")
    self.st_out = self.st:forward(self.xc, true)
    local x = self:buffer("x_inv", y.shape)
    check(C.nvp_coupling_inverse(x.data, y.data, self.st_out.data, self:lambda().data, n, c, h, w, self.kind,
        self.parity), 2)
    self.x = x
    return x
end

--- Every coupling's s/t network draws on the same shared buffers ("st."): one runs at a time.
function Coupling:share_buffers(prefix)
    self._shared = prefix
    self.st:share_buffers("st.")
    return self
end

--- The model's refresh option (nvp.flow): this coupling's s/t network takes its buffers from the shared
-- workspace under `prefix`, which a later coupling's network also uses, and backward re-runs it first.
function Coupling:refresh_st_in_backward(prefix)
    self.refresh_st = true
    self.st:share_buffers(prefix)
    return self
end

--- dy: (N,C,H,W), dlogdet: (N). Returns dL/dx (this layer's buffer); accumulates parameter gradients.
function Coupling:backward(x, dy, dlogdet)
    local n, c, h, w = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    if self.refresh_st then
        -- the activations of the last forward, rebuilt: self.xc is this layer's own buffer, intact
        self.st_out = self.st:forward(self.xc, true)
    end
    local dx = self:zeroed("dx", x.shape)
    local dst = ws.zeroed("coupling.dst", self.st_out.shape)
    local dlam = ws.zeroed("coupling.dlam", {self.changing})
    check(C.nvp_coupling_backward(dx.data, dst.data, dlam.data, dy.data, dlogdet.data, x.data, self.st_out.data,
        self.lam.data, n, c, h, w, self.kind, self.parity), 2)
    -- dlambda/dg = sign(v); dlambda/dv = 0 away from v = 0.
    local v, dg = self._params.lam_v.data, self._grads.lam_g.data
    for k = 0, self.changing - 1 do
        dg[k] = dg[k] + dlam.data[k] * (v[k] > 0 and 1 or (v[k] < 0 and -1 or 0))
    end
    local dxc = self.st:backward(dst)
    if self.kind == 0 then
        check(C.nvp_checker_mask(dx.data, dxc.data, n, c, h, w, self.parity, 1), 2)
    else
        local half = c / 2
        check(C.nvp_copy_channels(dx.data, c, self.parity == 0 and half or 0, dxc.data, half, 0, half, n, h * w, 1), 2)
    end
    return dx
end

function Coupling:__tostring()
    return ("Coupling(%s, parity %d, %d channels, %s)"):format(self.mask, self.parity, self.channels, tostring(self.st))
end

registry.register{
    name = "Coupling", kind = "flow",
    doc = "affine coupling (paper Eq. 4-9): y = (x + t) exp(s) on the changing part, s and t from the rest",
    args = {
        {"mask", {"checkerboard", "channel"}, "checkerboard", "which part conditions: a spatial checkerboard or "
            .. "half of the channels"},
        {"parity", "integer", 0, "0 or 1: which part changes", check = function(v)
            if v ~= 0 and v ~= 1 then return "must be 0 or 1" end end},
        {"net", "net", function() return require("nvp.nn").ResNet{} end, "the s/t network (nn.ResNet{...})"},
    },
    build = function(args, shape, ctx)
        local c, h, w = shape[1], shape[2], shape[3]
        if args.mask == "channel" and c % 2 ~= 0 then
            error(("%s: a channel-wise coupling needs an even channel count, its input is %dx%dx%d"):format(
                ctx.path, c, h, w), 0)
        end
        local net = args.net
        local coupling = Coupling.new{mask = args.mask, parity = args.parity, channels = c,
            make_net = function(inputs, outputs, scale)
                return (ctx.build(net, {inputs, outputs, h, w, scale = scale}, ctx))
            end}
        ctx.couplings = ctx.couplings or {}
        table.insert(ctx.couplings, {layer = coupling, order = #ctx.couplings + 1, h = h, w = w})
        return coupling, shape
    end,
    profile = {kind = "coupling", class = Coupling, methods = {"forward", "inverse", "backward"}},
    examples = {
        {args = function(nn) return {mask = "checkerboard", parity = 0, net = nn.ResNet{width = 4, blocks = 1}} end,
         shape = {2, 4, 6}},
        {args = function(nn) return {mask = "checkerboard", parity = 1, net = nn.ResNet{width = 5, blocks = 2}} end,
         shape = {3, 5, 6}},
        {args = function(nn) return {mask = "channel", parity = 0, net = nn.ResNet{width = 6, blocks = 1}} end,
         shape = {4, 4, 4}},
        {args = function(nn) return {mask = "channel", parity = 1, net = nn.ResNet{width = 3, blocks = 1}} end,
         shape = {4, 3, 4}},
    },
}

return Coupling
