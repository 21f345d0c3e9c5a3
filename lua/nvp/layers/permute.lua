-- nvp.layers.permute: a fixed permutation of the channels (log-det 0), so that the next coupling
-- conditions on other channels (as Glow's shuffle/reverse and NICE's alternating masks do).
--   y[:, j] = x[:, perm[j]];  "reverse": perm[j] = C - 1 - j;  "shuffle": a permutation drawn from `seed`
--
--   x, y: (N, C, H, W)
local T = require "nvp.tensor"
local Rng = require "nvp.rng"
local nffi = require "nvp.ffi"
local Module = require "nvp.layers.module"
local registry = require "nvp.layers.registry"
local C, check = nffi.C, nffi.check

local Permute = Module.class()

--- cfg: channels, kind ("reverse" | "shuffle"), seed (shuffle).
function Permute.new(cfg)
    local self = Module.init(setmetatable({}, Permute))
    local c = cfg.channels
    self.channels, self.kind = c, cfg.kind
    local perm = {}
    for j = 0, c - 1 do perm[j] = cfg.kind == "reverse" and c - 1 - j or j end
    if cfg.kind == "shuffle" then -- Fisher-Yates from the seed's own stream: the same for every run
        local u = Rng.new(cfg.seed):uniform(T.empty{c})
        for i = c - 1, 1, -1 do
            local j = math.min(i, math.floor(u.data[i] * (i + 1)))
            perm[i], perm[j] = perm[j], perm[i]
        end
    end
    self.perm = perm
    return self
end

-- dst[:, perm[j]] = src[:, j] (scatter) or dst[:, j] = src[:, perm[j]] (gather), one channel at a time.
local function permute(self, src, key, scatter)
    local n, c, hw = src.shape[1], src.shape[2], src.shape[3] * src.shape[4]
    if #src.shape ~= 4 or c ~= self.channels then
        error(("permute: input %s, expected (N,%d,H,W)"):format(T.shape_string(src.shape), self.channels), 3)
    end
    local dst = self:buffer(key, src.shape)
    for j = 0, c - 1 do
        local to, from = j, self.perm[j]
        if scatter then to, from = from, to end
        check(C.nvp_copy_channels(dst.data, c, to, src.data, c, from, 1, n, hw, 0), 3)
    end
    return dst
end

function Permute:forward(x)
    return permute(self, x, "y", false), nil
end

function Permute:inverse(y)
    return permute(self, y, "x_inv", true)
end

Permute.recover = Permute.inverse

function Permute:backward(x, dy)
    return permute(self, dy, "dx", true)
end

function Permute:__tostring()
    return ("Permute(%s, %d channels)"):format(self.kind, self.channels)
end

registry.register{
    name = "Permute", kind = "flow",
    doc = "a fixed permutation of the channels (log-det 0): reversed, or shuffled from a seed",
    args = {{"kind", {"reverse", "shuffle"}, "reverse", "which permutation"},
            {"seed", "integer", 0, "the shuffle's seed"}},
    build = function(args, shape)
        return Permute.new{channels = shape[1], kind = args.kind, seed = args.seed}, shape
    end,
    profile = {kind = "squeeze", class = Permute, methods = {"forward", "inverse", "backward"}},
    examples = {{args = {kind = "reverse"}, shape = {3, 2, 3}}, {args = {kind = "shuffle", seed = 4}, shape = {6, 2, 2}}},
}

return Permute
