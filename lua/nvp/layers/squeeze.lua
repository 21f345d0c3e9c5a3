-- nvp.layers.squeeze: the squeezing operation of Real NVP (paper Sec. 3.6, Fig. 3), a
-- permutation (N, C, H, W) -> (N, 4C, H/2, W/2) with log-det 0, in the two orders docs/REFERENCE.md 2.2
-- uses: "A" (channel 4c + 2dy + dx, before the channel-wise couplings) and "B" (blocks of C per
-- pixel offset (0,0), (1,1), (0,1), (1,0), for the factor-out). `inverse = true` makes the layer
-- an unsqueeze.
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local Module = require "nvp.layers.module"
local registry = require "nvp.layers.registry"
local C, check = nffi.C, nffi.check

local Squeeze = Module.class()

local ORDERS = {A = 0, B = 1}

--- cfg: order ("A" | "B"), inverse (default false: squeeze).
function Squeeze.new(cfg)
    local self = Module.init(setmetatable({}, Squeeze))
    self.order = ORDERS[cfg.order]
    if self.order == nil then error(("squeeze: unknown order '%s' (valid: A, B)"):format(tostring(cfg.order)), 2) end
    self.order_name = cfg.order
    self.unsqueeze = cfg.inverse == true
    return self
end

-- Squeeze `x` (N,C,H,W) into `key`.
function Squeeze:squeeze(x, key)
    local n, c, h, w = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    if h % 2 ~= 0 or w % 2 ~= 0 then
        error(("squeeze: input %s needs an even height and width"):format(T.shape_string(x.shape)), 3)
    end
    local y = self:buffer(key, {n, 4 * c, h / 2, w / 2})
    check(C.nvp_squeeze(y.data, x.data, n, c, h, w, self.order), 3)
    return y
end

-- Unsqueeze `y` (N,4C,H/2,W/2) into `key`.
function Squeeze:expand(y, key)
    local n, c4, h2, w2 = y.shape[1], y.shape[2], y.shape[3], y.shape[4]
    if c4 % 4 ~= 0 then
        error(("unsqueeze: input %s needs a channel count divisible by 4"):format(T.shape_string(y.shape)), 3)
    end
    local x = self:buffer(key, {n, c4 / 4, 2 * h2, 2 * w2})
    check(C.nvp_unsqueeze(x.data, y.data, n, c4 / 4, 2 * h2, 2 * w2, self.order), 3)
    return x
end

function Squeeze:forward(x)
    local y = self.unsqueeze and self:expand(x, "y") or self:squeeze(x, "y")
    return y, nil
end

function Squeeze:inverse(y)
    return self.unsqueeze and self:squeeze(y, "x_inv") or self:expand(y, "x_inv")
end

--- The input of the last forward from its output (recompute-by-inverse): a permutation, so exact.
Squeeze.recover = Squeeze.inverse

function Squeeze:backward(x, dy)
    return self.unsqueeze and self:squeeze(dy, "dx") or self:expand(dy, "dx")
end

function Squeeze:__tostring()
    return ("%s(%s)"):format(self.unsqueeze and "Unsqueeze" or "Squeeze", self.order_name)
end

registry.register{
    name = "Squeeze", kind = "flow",
    doc = "(C, H, W) -> (4C, H/2, W/2), a permutation (paper Fig. 3); inverse = true unsqueezes",
    args = {{"order", {"A", "B"}, "A", "A: channel 4c + 2dy + dx; B: blocks of C per pixel offset"},
            {"inverse", "boolean", false, "unsqueeze instead"}},
    build = function(args, shape, ctx)
        local c, h, w = shape[1], shape[2], shape[3]
        if args.inverse then
            if c % 4 ~= 0 then
                error(("%s: cannot unsqueeze a %dx%dx%d input: channels must be a multiple of 4"):format(ctx.path,
                    c, h, w), 0)
            end
            ctx.side = (ctx.side or 1) / 2
            return Squeeze.new(args), {c / 4, 2 * h, 2 * w}
        end
        if h % 2 ~= 0 or w % 2 ~= 0 then
            error(("%s: cannot squeeze a %dx%dx%d input: height and width must be even"):format(ctx.path, c, h, w), 0)
        end
        ctx.side = (ctx.side or 1) * 2
        ctx.max_side = math.max(ctx.max_side or 1, ctx.side)
        return Squeeze.new(args), {4 * c, h / 2, w / 2}
    end,
    profile = {kind = "squeeze", class = Squeeze, methods = {"forward", "inverse", "backward", "squeeze", "expand"}},
    examples = {
        {args = {order = "A"}, shape = {3, 4, 2}},
        {args = {order = "B"}, shape = {2, 2, 4}},
        {args = {order = "A", inverse = true}, shape = {8, 2, 2}},
    },
}

return Squeeze
