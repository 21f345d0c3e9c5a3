-- nvp.layers.factor_out: the factor-out of Real NVP's multi-scale architecture (paper Sec. 3.6,
-- Eq. 13-15; docs/REFERENCE.md 2.2). FactorOut{inner = f}:
--
--   x -> squeeze B -> split channels: the first half goes through the inner flow f (the next
--        level), the second half (pixel offsets (0,1) and (1,0)) is factored out as this level's
--        latent -> f's output and the factored-out half are concatenated and unsqueezed (B),
--        so z has the shape of x; log-det = f's.
--
-- nn.MultiScale{level1, ..., levelL} (nvp.nn) ends each level but the last with one of these.
--
--   x, z: (N, C, H, W); logdet: (N)
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local Module = require "nvp.layers.module"
local Squeeze = require "nvp.layers.squeeze"
local registry = require "nvp.layers.registry"
local C, check = nffi.C, nffi.check

local FactorOut = Module.class()

--- inner: the flow layer the kept half goes through (the next level).
function FactorOut.new(inner)
    local self = Module.init(setmetatable({}, FactorOut))
    self.inner = self:add("inner", inner)
    self.squeeze = Squeeze.new{order = "B"}
    self.shares_parent_buffers = true -- see share_buffers
    return self
end

-- Split s: (N, 4C, h, w) into its first and second halves of channels, into buffers `key`.1/.2.
local function split(self, s, key)
    local n, c4, h, w = s.shape[1], s.shape[2], s.shape[3], s.shape[4]
    local half = c4 / 2
    local a = self:buffer(key .. ".1", {n, half, h, w})
    local b = self:buffer(key .. ".2", {n, half, h, w})
    check(C.nvp_copy_channels(a.data, half, 0, s.data, c4, 0, half, n, h * w, 0), 3)
    check(C.nvp_copy_channels(b.data, half, 0, s.data, c4, half, half, n, h * w, 0), 3)
    return a, b
end

local function concat(self, a, b, key)
    local n, half, h, w = a.shape[1], a.shape[2], a.shape[3], a.shape[4]
    local s = self:buffer(key, {n, 2 * half, h, w})
    check(C.nvp_copy_channels(s.data, 2 * half, 0, a.data, half, 0, half, n, h * w, 0), 3)
    check(C.nvp_copy_channels(s.data, 2 * half, half, b.data, half, 0, half, n, h * w, 0), 3)
    return s
end

--- split(s, key) -> first, second half of s's channels; concat(a, b, key) -> their join (nvp.compress.codec).
FactorOut.split, FactorOut.concat = split, concat

function FactorOut:forward(x)
    local s = self.squeeze:squeeze(x, "s")
    local go_on, factored = split(self, s, "split")
    self.go_on = go_on
    local inner_out, inner_logdet = self.inner:forward(go_on)
    local joined = concat(self, inner_out, factored, "joined")
    return self.squeeze:expand(joined, "z"), inner_logdet
end

function FactorOut:inverse(z)
    local s = self.squeeze:squeeze(z, "inv.s")
    local inner_z, factored = split(self, s, "inv.split")
    local inner_x = self.inner:inverse(inner_z)
    local joined = concat(self, inner_x, factored, "inv.joined")
    return self.squeeze:expand(joined, "inv.y")
end

function FactorOut:backward(x, dz, dlogdet)
    local ds = self.squeeze:squeeze(dz, "grad.s")
    local d_inner, d_factored = split(self, ds, "grad.split")
    local d_go_on = self.inner:backward(self.go_on, d_inner, dlogdet)
    local d_joined = concat(self, d_go_on, d_factored, "grad.joined")
    return self.squeeze:expand(d_joined, "grad.y")
end

--- The inner flow draws on the shared buffers of the sequence this layer ends (it runs after every
-- layer before it is done); this layer's own buffers, which hold the factored-out half, stay its own.
function FactorOut:share_buffers(prefix)
    self.inner:share_buffers(prefix)
    return self
end

--- Backward from the output z of the last forward alone (recompute-by-inverse): the inner flow
-- rebuilds its input from its part of z, which joined with the factored-out half is this layer's
-- input. Returns dL/dx and the rebuilt x.
function FactorOut:backward_by_inverse(z, dz, dlogdet)
    local inner_z, factored = split(self, self.squeeze:squeeze(z, "inv.s"), "inv.split")
    local d_inner, d_factored = split(self, self.squeeze:squeeze(dz, "grad.s"), "grad.split")
    local d_go_on, go_on = self.inner:backward_by_inverse(inner_z, d_inner, dlogdet)
    local x = self.squeeze:expand(concat(self, go_on, factored, "inv.joined"), "inv.y")
    local dx = self.squeeze:expand(concat(self, d_go_on, d_factored, "grad.joined"), "grad.y")
    return dx, x
end

--- The latents of z, finest first: {z1, ..., zL} where z1 is this level's factored-out half.
-- Each part is a new tensor (N, C_k, H_k, W_k).
function FactorOut:split_latents(z, out)
    out = out or {}
    local s = self.squeeze:squeeze(z, "lat.s")
    local go_on, factored = split(self, s, "lat.split")
    out[#out + 1] = factored:clone()
    local rest = self.inner.split_latents and self.inner:split_latents(go_on:clone()) or {go_on:clone()}
    for _, part in ipairs(rest) do out[#out + 1] = part end
    return out
end

--- The inverse of split_latents: a z of the input's shape from {z1, ..., zL}, starting at parts[k].
function FactorOut:join_latents(parts, k)
    k = k or 1
    local inner_z = self.inner.join_latents and self.inner:join_latents(parts, k + 1) or parts[k + 1]:clone()
    local joined = concat(self, inner_z, parts[k], "lat.joined")
    return self.squeeze:expand(joined, "lat.z"):clone()
end

function FactorOut:__tostring()
    return "factor out half (squeeze B), then\n" .. tostring(self.inner)
end

registry.register{
    name = "FactorOut", kind = "flow",
    doc = "squeeze (B), send half of the channels through `inner`, keep the other half as this level's latent",
    args = {{"inner", "layer", nil, "the flow of the kept half (the next level)"}},
    build = function(args, shape, ctx)
        local c, h, w = shape[1], shape[2], shape[3]
        if h % 2 ~= 0 or w % 2 ~= 0 then
            error(("%s: cannot factor out of a %dx%dx%d input: height and width must be even"):format(ctx.path,
                c, h, w), 0)
        end
        local path, side = ctx.path, ctx.side or 1
        ctx.path, ctx.side = path .. ".inner", side * 2
        ctx.max_side = math.max(ctx.max_side or 1, ctx.side)
        local inner, inner_out = ctx.build(args.inner, {2 * c, h / 2, w / 2}, ctx)
        ctx.path, ctx.side = path, side
        if inner_out[1] ~= 2 * c or inner_out[2] ~= h / 2 or inner_out[3] ~= w / 2 then
            error(("%s: the inner flow must keep its input's shape %dx%dx%d, it gives %s"):format(path, 2 * c,
                h / 2, w / 2, table.concat(inner_out, "x")), 0)
        end
        ctx.levels = (ctx.levels or 1) + 1
        return FactorOut.new(inner), shape
    end,
    profile = {kind = "squeeze", class = FactorOut, methods = {"forward", "inverse", "backward"}},
    examples = {
        {args = function(nn) return {inner = nn.Coupling{mask = "checkerboard", parity = 1,
            net = nn.ResNet{width = 4, blocks = 1}}} end, shape = {2, 4, 4}},
    },
}

return FactorOut
