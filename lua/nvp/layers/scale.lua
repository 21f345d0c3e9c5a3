-- nvp.layers.scale: one level of the multi-scale architecture (paper Sec. 3.6, Eq. 13-15;
-- docs/REFERENCE.md 2.2), with the factor-out. For every scale but the last:
--
--   x -> [couplings, squeezes]   (body: 3 checkerboard, squeeze A, 3 channel-wise, unsqueeze A)
--     -> squeeze B -> split channels: the first half goes on to the next scale, the second half
--        (pixel offsets (0,1) and (1,0)) is factored out as this scale's latent
--     -> the next scale's output and the factored-out half are concatenated and unsqueezed (B),
--        so z has the shape of x.
-- The last scale is just its body (4 checkerboard couplings).
--
--   x, z: (N, C, H, W); logdet: (N)
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local Module = require "nvp.layers.module"
local Squeeze = require "nvp.layers.squeeze"
local C, check = nffi.C, nffi.check

local Scale = Module.class()

--- body: a flow layer (Sequence); inner: the next Scale, or nil for the last.
function Scale.new(body, inner)
    local self = Module.init(setmetatable({}, Scale))
    self.body = self:add("body", body)
    if inner ~= nil then
        self.inner = self:add("next", inner)
        self.squeeze = Squeeze.new{order = "B"}
    end
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

function Scale:forward(x)
    local y, logdet = self.body:forward(x)
    if self.inner == nil then return y, logdet end
    self.body_out = y
    local s = self.squeeze:squeeze(y, "s")
    local go_on, factored = split(self, s, "split")
    self.go_on = go_on
    local inner_out, inner_logdet = self.inner:forward(go_on)
    local total = self:buffer("logdet", logdet.shape):copy(logdet):add(inner_logdet)
    local joined = concat(self, inner_out, factored, "joined")
    return self.squeeze:expand(joined, "z"), total
end

function Scale:inverse(z)
    if self.inner == nil then return self.body:inverse(z) end
    local s = self.squeeze:squeeze(z, "inv.s")
    local inner_z, factored = split(self, s, "inv.split")
    local inner_x = self.inner:inverse(inner_z)
    local joined = concat(self, inner_x, factored, "inv.joined")
    return self.body:inverse(self.squeeze:expand(joined, "inv.y"))
end

function Scale:backward(x, dz, dlogdet)
    if self.inner == nil then return self.body:backward(x, dz, dlogdet) end
    local ds = self.squeeze:squeeze(dz, "grad.s")
    local d_inner, d_factored = split(self, ds, "grad.split")
    local d_go_on = self.inner:backward(self.go_on, d_inner, dlogdet)
    local d_joined = concat(self, d_go_on, d_factored, "grad.joined")
    local dy = self.squeeze:expand(d_joined, "grad.y")
    return self.body:backward(x, dy, dlogdet)
end

--- Every scale's body draws on the same shared buffers (they run one after another); the scale's
-- own buffers, which hold the factored-out half, stay its own.
function Scale:share_buffers(prefix)
    self.body:share_buffers(prefix)
    if self.inner then self.inner:share_buffers(prefix) end
    return self
end

--- Backward from the output z of the last forward alone (recompute-by-inverse): the next scale
-- rebuilds its input from its part of z, which joined with the factored-out half is the body's
-- output. Returns dL/dx and the rebuilt x.
function Scale:backward_by_inverse(z, dz, dlogdet)
    if self.inner == nil then return self.body:backward_by_inverse(z, dz, dlogdet) end
    local inner_z, factored = split(self, self.squeeze:squeeze(z, "inv.s"), "inv.split")
    local d_inner, d_factored = split(self, self.squeeze:squeeze(dz, "grad.s"), "grad.split")
    local d_go_on, go_on = self.inner:backward_by_inverse(inner_z, d_inner, dlogdet)
    local y = self.squeeze:expand(concat(self, go_on, factored, "inv.joined"), "inv.y")
    local dy = self.squeeze:expand(concat(self, d_go_on, d_factored, "grad.joined"), "grad.y")
    return self.body:backward_by_inverse(y, dy, dlogdet)
end

--- The latents of z, finest first: {z1, ..., zL} where z1 is this scale's factored-out half.
-- Each part is a new tensor (N, C_k, H_k, W_k).
function Scale:split_latents(z, out)
    out = out or {}
    if self.inner == nil then
        out[#out + 1] = z:clone()
        return out
    end
    local s = self.squeeze:squeeze(z, "lat.s")
    local go_on, factored = split(self, s, "lat.split")
    out[#out + 1] = factored:clone()
    return self.inner:split_latents(go_on:clone(), out)
end

--- The inverse of split_latents: a z of the input's shape from {z1, ..., zL}.
function Scale:join_latents(parts, k)
    k = k or 1
    if self.inner == nil then return parts[k]:clone() end
    local inner_z = self.inner:join_latents(parts, k + 1)
    local joined = concat(self, inner_z, parts[k], "lat.joined")
    return self.squeeze:expand(joined, "lat.z"):clone()
end

function Scale:__tostring()
    local s = tostring(self.body)
    if self.inner then s = s .. "\nfactor out half (squeeze B), then\n" .. tostring(self.inner) end
    return s
end

return Scale
