-- nvp.layers.glow_coupling: Glow's channel-wise coupling (Kingma & Dhariwal 2018, Sec. 3.3; openai/glow
-- model.py `revnet2d_step`): half of the channels conditions an s/t network h = NN(x_cond), the other
-- half changes:
--   kind = "affine":    y = (x + t) sigmoid(r + 2),   log-det = sum log sigmoid(r + 2),   h = (t, r)
--   kind = "additive":  y = x + t (NICE),              log-det 0,                          h = t
--   kind = "gaussian":  y = (x + t) exp(r),            log-det = sum r,                    h = (t, r)
--     (Glow's learned split prior as a flow layer, nn.SplitPrior: with t = -mean and r = -log std of
--     the changing half given the other, y is standard normal exactly when x ~ N(mean, std^2))
-- parity 0: the first half of the channels conditions (Glow's z1), parity 1 the second. With nn.ConvNet
-- (the default) the network's last convolution starts at zero, so every coupling starts as the
-- identity. The arithmetic is nvp_glow_coupling_* (engine/src/kernels/glow_coupling.c).
--
--   x, y: (N, C, H, W), C even; logdet: (N)
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local Module = require "nvp.layers.module"
local registry = require "nvp.layers.registry"
local C, check = nffi.C, nffi.check

local GlowCoupling = Module.class()

local KINDS = {affine = 0, additive = 1, gaussian = 2} -- nvp_glow_coupling_*'s kind

--- cfg: channels (even), kind ("affine" | "additive" | "gaussian"), parity (0 | 1), make_net(inputs, outputs).
function GlowCoupling.new(cfg)
    local self = Module.init(setmetatable({}, GlowCoupling))
    local c = cfg.channels
    self.channels, self.kind, self.parity = c, cfg.kind, cfg.parity
    self.code = KINDS[cfg.kind]
    self.half = c / 2
    self.net = self:add("net", cfg.make_net(c / 2, cfg.kind == "additive" and c / 2 or c))
    return self
end

local function check_input(self, x, level)
    if #x.shape ~= 4 or x.shape[2] ~= self.channels then
        error(("glow coupling: input %s, expected (N,%d,H,W)"):format(T.shape_string(x.shape), self.channels),
            level + 1)
    end
end

-- The conditioning half of x (the same in x and y), into buffer `key`.
local function conditioning(self, x, key)
    local n, hw, half = x.shape[1], x.shape[3] * x.shape[4], self.half
    local xc = self:buffer(key, {n, half, x.shape[3], x.shape[4]})
    check(C.nvp_copy_channels(xc.data, half, 0, x.data, self.channels, self.parity == 0 and 0 or half, half, n, hw, 0), 3)
    return xc
end

function GlowCoupling:forward(x)
    check_input(self, x, 2)
    local n, hw = x.shape[1], x.shape[3] * x.shape[4]
    self.h = self.net:forward(conditioning(self, x, "xc"))
    local y = self:buffer("y", x.shape)
    local logdet = self:zeroed("logdet", {n})
    check(C.nvp_glow_coupling_forward(y.data, logdet.data, x.data, self.h.data, n, self.channels, hw, self.parity,
        self.code), 2)
    return y, logdet
end

function GlowCoupling:inverse(y)
    check_input(self, y, 2)
    local h = self.net:forward(conditioning(self, y, "yc"))
    local x = self:buffer("x_inv", y.shape)
    check(C.nvp_glow_coupling_inverse(x.data, y.data, h.data, y.shape[1], self.channels, y.shape[3] * y.shape[4],
        self.parity, self.code), 2)
    return x
end

--- The input of the last forward from its output (recompute-by-inverse): the network re-run on the
-- conditioning half rebuilds what backward needs.
function GlowCoupling:recover(y)
    check_input(self, y, 2)
    self.h = self.net:forward(conditioning(self, y, "xc"), true)
    local x = self:buffer("x_inv", y.shape)
    check(C.nvp_glow_coupling_inverse(x.data, y.data, self.h.data, y.shape[1], self.channels, y.shape[3] * y.shape[4],
        self.parity, self.code), 2)
    return x
end

--- dy: (N,C,H,W), dlogdet: (N). Returns dL/dx; accumulates parameter gradients.
function GlowCoupling:backward(x, dy, dlogdet)
    local n, hw, half = x.shape[1], x.shape[3] * x.shape[4], self.half
    local dx = self:zeroed("dx", x.shape)
    local dh = self:zeroed("dh", self.h.shape)
    check(C.nvp_glow_coupling_backward(dx.data, dh.data, dy.data, dlogdet.data, x.data, self.h.data, n, self.channels,
        hw, self.parity, self.code), 2)
    local dxc = self.net:backward(dh)
    check(C.nvp_copy_channels(dx.data, self.channels, self.parity == 0 and 0 or half, dxc.data, half, 0, half, n, hw, 1),
        2)
    return dx
end

function GlowCoupling:__tostring()
    return ("GlowCoupling(%s, parity %d, %d channels, %s)"):format(self.kind, self.parity, self.channels,
        tostring(self.net))
end

registry.register{
    name = "GlowCoupling", kind = "flow",
    doc = "Glow's channel-wise coupling on half the channels: affine y = (x + t) sigmoid(r + 2), additive y = x + t, "
        .. "or gaussian y = (x + t) exp(r)",
    args = {
        {"kind", {"affine", "additive", "gaussian"}, "affine", "Glow's affine coupling, NICE's additive one "
            .. "(log-det 0), or y = (x + t) exp(r) (the split prior's form)"},
        {"parity", "integer", 0, "0: the first half of the channels conditions, 1: the second", check = function(v)
            if v ~= 0 and v ~= 1 then return "must be 0 or 1" end end},
        {"net", "net", function() return require("nvp.nn").ConvNet{} end, "the s/t network (nn.ConvNet{...})"},
    },
    build = function(args, shape, ctx)
        local c, h, w = shape[1], shape[2], shape[3]
        if c % 2 ~= 0 then
            error(("%s: a Glow coupling needs an even channel count, its input is %dx%dx%d (squeeze first)"):format(
                ctx.path, c, h, w), 0)
        end
        local net = args.net
        return GlowCoupling.new{channels = c, kind = args.kind, parity = args.parity,
            make_net = function(inputs, outputs)
                return (ctx.build(net, {inputs, outputs, h, w, scale = 1}, ctx))
            end}, shape
    end,
    profile = {kind = "coupling", class = GlowCoupling, methods = {"forward", "inverse", "backward"}},
    examples = {
        {args = function(nn) return {kind = "affine", parity = 0, net = nn.ConvNet{width = 4}} end, shape = {4, 3, 3}},
        {args = function(nn) return {kind = "affine", parity = 1, net = nn.ConvNet{width = 3}} end, shape = {2, 4, 3}},
        {args = function(nn) return {kind = "additive", parity = 0, net = nn.ConvNet{width = 5}} end, shape = {6, 2, 3}},
        {args = function(nn) return {kind = "additive", parity = 1, net = nn.ConvNet{width = 4}} end, shape = {2, 3, 3}},
        {args = function(nn) return {kind = "gaussian", parity = 1, net = nn.ConvNet{width = 3}} end, shape = {4, 2, 3}},
    },
}

return GlowCoupling
