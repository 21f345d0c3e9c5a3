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
local C, check = nffi.C, nffi.check

local Coupling = Module.class()

local MASKS = {checkerboard = 0, channel = 1}

--- cfg: mask ("checkerboard" | "channel"), parity (0 | 1), channels (C), width, blocks, rng.
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
    self.st = self:add("st", STNet.new{inputs = n, width = cfg.width, blocks = cfg.blocks,
                                       scale = kind == 0 and 2 or 1, rng = cfg.rng})
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
    local st_out = self.st:forward(cond)
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

return Coupling
