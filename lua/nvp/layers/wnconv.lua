-- nvp.layers.wnconv: a weight-normalised convolution (Salimans & Kingma 2016), k x k with k in
-- {1, 3}, stride 1, "same" zero padding: w = g * v / ||v|| per output channel, y = conv(x, w) + b.
-- Initialised as docs/REFERENCE.md 2.5: v, b ~ U(+-1/sqrt(fan_in)), g = ||v|| (so w = v at start).
--
--   x: (N, Cin, H, W) -> y: (N, Cout, H, W)
local T = require "nvp.tensor"
local ws = require "nvp.workspace"
local nffi = require "nvp.ffi"
local Module = require "nvp.layers.module"
local C, check = nffi.C, nffi.check

local WNConv2d = Module.class()

--- cfg: cin, cout, k (1 or 3), bias (default true), rng (nvp.rng, for the initial weights).
function WNConv2d.new(cfg)
    local self = Module.init(setmetatable({}, WNConv2d))
    assert(cfg.k == 1 or cfg.k == 3, "wnconv: k must be 1 or 3")
    self.cin, self.cout, self.k = cfg.cin, cfg.cout, cfg.k
    self.has_bias = cfg.bias ~= false
    local fan_in = cfg.cin * cfg.k * cfg.k
    local bound = 1 / math.sqrt(fan_in)
    local v = self:param("v", T.empty{cfg.cout, cfg.cin, cfg.k, cfg.k})
    cfg.rng:uniform(v, -bound, bound)
    local g = self:param("g", T.empty{cfg.cout}, {decay = true})
    for o = 0, cfg.cout - 1 do
        local ss = 0
        for i = o * fan_in, (o + 1) * fan_in - 1 do ss = ss + v.data[i] * v.data[i] end
        g.data[o] = math.sqrt(ss)
    end
    if self.has_bias then
        cfg.rng:uniform(self:param("b", T.empty{cfg.cout}), -bound, bound)
    end
    self.wshape = {cfg.cout, cfg.cin, cfg.k, cfg.k}
    self.norm = T.empty{cfg.cout}
    return self
end

--- w = g v / ||v||, in a workspace tensor shared by the convolutions of its shape (valid until another
-- one's weight() call: forward and backward each compute it again, a pass over the parameters, so the
-- model keeps no second copy of its conv weights; nor of their gradients, see backward).
function WNConv2d:weight()
    local p = self._params
    local w = ws.get("wnconv.w", self.wshape)
    check(C.nvp_weightnorm_forward(w.data, self.norm.data, p.v.data, p.g.data, self.cout,
        self.cin * self.k * self.k), 3)
    return w
end

--- y = conv(x). `out` (optional) receives the result; accumulate = true adds into it.
function WNConv2d:forward(x, out, accumulate)
    local n, cin, h, w = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    if cin ~= self.cin or #x.shape ~= 4 then
        error(("wnconv: input %s, expected (N,%d,H,W)"):format(T.shape_string(x.shape), self.cin), 2)
    end
    out = out or self:buffer("y", {n, self.cout, h, w})
    local weight = self:weight()
    local b = self.has_bias and self._params.b.data or nil
    check(C.nvp_conv2d_forward(out.data, accumulate and out.data or nil, x.data, nil, weight.data, b, n, cin,
        self.cout, h, w, self.k), 2)
    return out
end

--- out = (r or 0) + conv(act(x)), act an nvp_bn_relu (BatchNorm:statistics): a batch norm + ReLU
-- applied as the convolution reads x, so its output is never written out (the 3x3 Winograd paths do
-- it per input plane in L1). r: nil (out written), out itself or another tensor of out's shape.
function WNConv2d:forward_act(x, act, out, r)
    local n, cin, h, w = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    if cin ~= self.cin or #x.shape ~= 4 then
        error(("wnconv: input %s, expected (N,%d,H,W)"):format(T.shape_string(x.shape), self.cin), 2)
    end
    out = out or self:buffer("y", {n, self.cout, h, w})
    if out.shape[1] ~= n or out.shape[2] ~= self.cout or (r and not r:same_shape(out)) then
        error(("wnconv: output %s%s, expected (%d,%d,%d,%d)"):format(T.shape_string(out.shape),
            r and (" and residual " .. T.shape_string(r.shape)) or "", n, self.cout, h, w), 2)
    end
    local weight = self:weight()
    local b = self.has_bias and self._params.b.data or nil
    check(C.nvp_conv2d_forward(out.data, r and r.data or nil, x.data, act, weight.data, b, n, cin, self.cout, h,
        w, self.k), 2)
    return out
end

--- Accumulate parameter gradients for dy = dL/dy at input x; add dL/dx into dx when given, or write it
-- there with accumulate = false (dx's old contents are then never read: no zero fill needed).
-- The weights are the current parameters' (those of the forward). act: the nvp_bn_relu of a forward_act
-- (x its input; dx is then dL/d act(x)). dL/dw lives in a workspace tensor until weight norm's backward
-- turns it into the gradients of v and g.
function WNConv2d:backward(x, dy, dx, accumulate, act)
    local n, h, w = x.shape[1], x.shape[3], x.shape[4]
    local K = self.cin * self.k * self.k
    local weight = self:weight()
    local dw = ws.zeroed("wnconv.dw", self.wshape)
    local grads, p = self._grads, self._params
    check(C.nvp_conv2d_backward(dx and dx.data or nil, dw.data, self.has_bias and grads.b.data or nil, dy.data,
        x.data, act, weight.data, n, self.cin, self.cout, h, w, self.k, accumulate == false and 0 or 1), 2)
    check(C.nvp_weightnorm_backward(grads.v.data, grads.g.data, dw.data, p.v.data, p.g.data, self.norm.data,
        self.cout, K), 2)
    return dx
end

function WNConv2d:__tostring()
    return ("WNConv2d(%d->%d, %dx%d%s)"):format(self.cin, self.cout, self.k, self.k, self.has_bias and "" or ", no bias")
end

return WNConv2d
