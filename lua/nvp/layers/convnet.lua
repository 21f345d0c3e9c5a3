-- nvp.layers.convnet: Glow's s/t network (Kingma & Dhariwal 2018, Sec. 3.3; openai/glow model.py `f`):
--   conv3x3(n -> F) -> actnorm -> ReLU -> conv1x1(F -> F) -> actnorm -> ReLU -> conv3x3(F -> outputs)
-- with the last convolution (weights and bias) initialised to zero, so that every coupling starts as
-- the identity. The first two convolutions have no bias (the actnorm after them has one) and start
-- from N(0, 0.05^2) weights, as Glow's; their actnorms are initialised on the first training batch.
-- The actnorm + ReLU pairs are one kernel call each (nvp_actnorm_forward with relu = 1).
--
--   x: (N, n, H, W) -> out: (N, outputs, H, W)
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local Module = require "nvp.layers.module"
local ActNorm = require "nvp.layers.actnorm"
local registry = require "nvp.layers.registry"
local C, check = nffi.C, nffi.check

-- A plain k x k convolution (k = 1 or 3, "same" padding), weights w (Cout, Cin, k, k), optional bias.
local Conv = Module.class()

function Conv.new(cfg)
    local self = Module.init(setmetatable({}, Conv))
    self.cin, self.cout, self.k = cfg.cin, cfg.cout, cfg.k
    local w = self:param("w", T.zeros{cfg.cout, cfg.cin, cfg.k, cfg.k})
    if cfg.std then cfg.rng:normal(w, 0, cfg.std) end
    if cfg.bias then self:param("b", T.zeros{cfg.cout}) end
    return self
end

function Conv:forward(x, out)
    local s = x.shape
    local b = self._params.b
    check(C.nvp_conv2d_forward(out.data, nil, x.data, nil, self._params.w.data, b and b.data or nil, s[1], self.cin,
        self.cout, s[3], s[4], self.k), 2)
    return out
end

-- dx written (not accumulated) when given; parameter gradients accumulated.
function Conv:backward(x, dy, dx)
    local s = x.shape
    local gb = self._grads.b
    check(C.nvp_conv2d_backward(dx and dx.data or nil, self._grads.w.data, gb and gb.data or nil, dy.data, x.data,
        nil, self._params.w.data, s[1], self.cin, self.cout, s[3], s[4], self.k, 0), 2)
    return dx
end

local ConvNet = Module.class()

--- cfg: inputs, outputs, width, rng.
function ConvNet.new(cfg)
    local self = Module.init(setmetatable({}, ConvNet))
    local n, f = cfg.inputs, cfg.width
    self.inputs, self.outputs, self.width = n, cfg.outputs, f
    self.conv1 = self:add("conv1", Conv.new{cin = n, cout = f, k = 3, std = 0.05, rng = cfg.rng})
    self.an1 = self:add("actnorm1", ActNorm.new{channels = f, relu = true})
    self.conv2 = self:add("conv2", Conv.new{cin = f, cout = f, k = 1, std = 0.05, rng = cfg.rng})
    self.an2 = self:add("actnorm2", ActNorm.new{channels = f, relu = true})
    self.conv3 = self:add("conv3", Conv.new{cin = f, cout = cfg.outputs, k = 3, bias = true}) -- zeros
    return self
end

function ConvNet:forward(x)
    if #x.shape ~= 4 or x.shape[2] ~= self.inputs then
        error(("convnet: input %s, expected (N,%d,H,W)"):format(T.shape_string(x.shape), self.inputs), 2)
    end
    local n, h, w = x.shape[1], x.shape[3], x.shape[4]
    local fshape = {n, self.width, h, w}
    self.x = x
    self.a1 = self.conv1:forward(x, self:buffer("a1", fshape))
    self.r1 = self.an1:forward(self.a1)
    self.a2 = self.conv2:forward(self.r1, self:buffer("a2", fshape))
    self.r2 = self.an2:forward(self.a2)
    return self.conv3:forward(self.r2, self:buffer("out", {n, self.outputs, h, w}))
end

--- dout: (N, outputs, H, W). Returns dL/dx (this network's buffer); accumulates parameter gradients.
function ConvNet:backward(dout)
    local x = self.x
    local fshape = {x.shape[1], self.width, x.shape[3], x.shape[4]}
    local dr = self.conv3:backward(self.r2, dout, self:buffer("dr", fshape))
    local da = self.an2:backward(self.a2, dr, nil, self:buffer("da", fshape))
    dr = self.conv2:backward(self.r1, da, dr)
    da = self.an1:backward(self.a1, dr, nil, da)
    return self.conv1:backward(x, da, self:buffer("dx", x.shape))
end

function ConvNet:__tostring()
    return ("ConvNet(%d -> %d, width %d)"):format(self.inputs, self.outputs, self.width)
end

registry.register{
    name = "ConvNet", kind = "net",
    doc = "Glow's s/t network: conv3x3 -> actnorm -> ReLU -> conv1x1 -> actnorm -> ReLU -> zero-initialised conv3x3",
    args = {{"width", "integer", 512, "feature maps", check = function(v) if v < 1 then return "must be >= 1" end end}},
    -- shape: {inputs, outputs, H, W} from the coupling
    build = function(args, shape, ctx)
        return ConvNet.new{inputs = shape[1], outputs = shape[2], width = args.width, rng = ctx.rng},
            {shape[2], shape[3], shape[4]}
    end,
    profile = {kind = "conv", class = ConvNet, methods = {"forward", "backward"}},
}

-- nn.ZeroConv: Glow's Conv2dZeros, a 3x3 convolution with bias whose weights and bias start at zero:
-- the network of the learned split prior (nn.SplitPrior), which therefore starts as N(0, I).
local ZeroConv = Module.class()

function ZeroConv.new(cfg)
    local self = Module.init(setmetatable({}, ZeroConv))
    self.inputs, self.outputs = cfg.inputs, cfg.outputs
    self.conv = self:add("conv", Conv.new{cin = cfg.inputs, cout = cfg.outputs, k = 3, bias = true})
    return self
end

function ZeroConv:forward(x)
    if #x.shape ~= 4 or x.shape[2] ~= self.inputs then
        error(("zeroconv: input %s, expected (N,%d,H,W)"):format(T.shape_string(x.shape), self.inputs), 2)
    end
    self.x = x
    return self.conv:forward(x, self:buffer("out", {x.shape[1], self.outputs, x.shape[3], x.shape[4]}))
end

function ZeroConv:backward(dout)
    return self.conv:backward(self.x, dout, self:buffer("dx", self.x.shape))
end

function ZeroConv:__tostring()
    return ("ZeroConv(%d -> %d)"):format(self.inputs, self.outputs)
end

registry.register{
    name = "ZeroConv", kind = "net",
    doc = "a zero-initialised 3x3 convolution with bias (Glow's Conv2dZeros): the split prior's network",
    args = {},
    build = function(_, shape)
        return ZeroConv.new{inputs = shape[1], outputs = shape[2]}, {shape[2], shape[3], shape[4]}
    end,
    profile = {kind = "conv", class = ZeroConv, methods = {"forward", "backward"}},
}

ConvNet.ZeroConv = ZeroConv
return ConvNet
