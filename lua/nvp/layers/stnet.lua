-- nvp.layers.stnet: the s/t network of an affine coupling, a ResNet (docs/REFERENCE.md 2.4; paper
-- Sec. 3.5): weight-normalised convolutions, batch norm, ReLU and a skip sum from every block.
--
--   h    = BN_in(x);  h = scale * h  (scale 2 for checkerboard couplings, else 1)
--   h    = conv3x3(2n -> f, bias)(ReLU(concat(h, -h)))
--   skip = conv1x1(f -> f, bias)(h)
--   B times:  r = conv3x3(f -> f, no bias)(ReLU(BN(h)))
--             h = h + conv3x3(f -> f, bias)(ReLU(BN(r)))
--             skip = skip + conv1x1(f -> f, bias)(h)
--   out  = conv1x1(f -> 2n, bias)(ReLU(BN_out(skip)))
--
--   x: (N, n, H, W) -> out: (N, 2n, H, W)
--
-- The batch norm + ReLU pairs feeding the convolutions (two per block and one at the end) are never
-- written out: each batch norm computes its statistics (BatchNorm:statistics) and the convolution
-- applies them to its input as it reads it (WNConv2d:forward_act; the 3x3 Winograd paths per input
-- plane in L1, before the input transform), in forward and again in backward's filter gradient.
-- That saves a write and a read of a (N, f, H, W) map per pair in forward and the same in backward,
-- and the memory of one such map. Nor is h0: backward recomputes it from the 2n-channel
-- input of conv_in (2-12 input channels: ~1 % of one block conv's work). What stays per network is
-- h1..hB, the B conv1 outputs and the skip sum: 2B + 1 maps of (N, f, H, W) instead of 4B + 3.
local T = require "nvp.tensor"
local nffi = require "nvp.ffi"
local ws = require "nvp.workspace"
local Module = require "nvp.layers.module"
local WNConv2d = require "nvp.layers.wnconv"
local BatchNorm = require "nvp.layers.batchnorm"
local registry = require "nvp.layers.registry"
local C, check = nffi.C, nffi.check

local STNet = Module.class()

--- cfg: inputs (n), width (f), blocks (B), scale (2 or 1), outputs (default 2n), rng.
function STNet.new(cfg)
    local self = Module.init(setmetatable({}, STNet))
    local n, f, rng = cfg.inputs, cfg.width, cfg.rng
    self.inputs, self.width, self.nblocks = n, f, cfg.blocks
    self.outputs = cfg.outputs or 2 * n
    self.scale = cfg.scale or 1
    self.bn_in = self:add("bn_in", BatchNorm.new{channels = n})
    self.conv_in = self:add("conv_in", WNConv2d.new{cin = 2 * n, cout = f, k = 3, rng = rng})
    self.skip_in = self:add("skip_in", WNConv2d.new{cin = f, cout = f, k = 1, rng = rng})
    self.blocks = {}
    for b = 1, cfg.blocks do
        local blk = {}
        blk.bn1 = self:add("block" .. b .. ".bn1", BatchNorm.new{channels = f, relu = true})
        blk.conv1 = self:add("block" .. b .. ".conv1", WNConv2d.new{cin = f, cout = f, k = 3, bias = false, rng = rng})
        blk.bn2 = self:add("block" .. b .. ".bn2", BatchNorm.new{channels = f, relu = true})
        blk.conv2 = self:add("block" .. b .. ".conv2", WNConv2d.new{cin = f, cout = f, k = 3, rng = rng})
        blk.skip = self:add("block" .. b .. ".skip", WNConv2d.new{cin = f, cout = f, k = 1, rng = rng})
        self.blocks[b] = blk
    end
    self.bn_out = self:add("bn_out", BatchNorm.new{channels = f, relu = true})
    self.conv_out = self:add("conv_out", WNConv2d.new{cin = f, cout = self.outputs, k = 1, rng = rng})
    return self
end

-- The (N, f, H, W) transients of backward, one storage each for all networks (nvp.workspace.any_shape).
local BACKWARD_MAPS = {"st.dbranch", "st.dskip", "st.dh", "st.dr"}

--- x: (N, n, H, W) -> (N, 2n, H, W). keep_running = true for a recomputed forward
-- (recompute-by-inverse): batch norm uses the batch statistics without moving its running averages again.
function STNet:forward(x, keep_running)
    local n, h, w = x.shape[1], x.shape[3], x.shape[4]
    local f = self.width
    self.x = x
    if self.training then
        -- backward runs the networks last to first, so the last (often the smallest) would size them
        for _, name in ipairs(BACKWARD_MAPS) do ws.reserve(name, {n, f, h, w}) end
    end
    self.hb = self.bn_in:forward(x, nil, keep_running)
    self.a = self:buffer("a", {n, 2 * self.inputs, h, w})
    check(C.nvp_crelu_forward(self.a.data, self.hb.data, self.scale, n, self.inputs, h * w), 2)
    -- h0 is read by block 1 and skip_in only; backward rebuilds it (same weights, same input)
    local hcur = self.conv_in:forward(self.a, ws.any_shape("stnet.h0", {n, f, h, w}))
    self.h0 = hcur
    self.skip = self:buffer("skip", {n, f, h, w})
    self.skip_in:forward(hcur, self.skip, false)
    for b, blk in ipairs(self.blocks) do
        blk.h_in = hcur
        blk.r = blk.conv1:forward_act(hcur, blk.bn1:statistics(hcur, keep_running))
        local hnext = blk.conv2:forward_act(blk.r, blk.bn2:statistics(blk.r, keep_running),
            self:buffer("h" .. b, {n, f, h, w}), hcur)             -- h + conv2(...): the residual sum
        blk.skip:forward(hnext, self.skip, true)
        blk.h_out = hnext
        hcur = hnext
    end
    return self.conv_out:forward_act(self.skip, self.bn_out:statistics(self.skip, keep_running))
end

--- dout: (N, 2n, H, W). Accumulates parameter gradients; returns dL/dx in a shared workspace tensor
-- (valid until the next s/t network's backward).
function STNet:backward(dout)
    local x = self.x
    local n, h, w = x.shape[1], x.shape[3], x.shape[4]
    local fshape = {n, self.width, h, w}
    self.conv_in:forward(self.a, self.h0)    -- h0 again (a workspace tensor: another network's since)
    -- Gradients into a fresh buffer are written (accumulate = false: no zero fill first, no read of
    -- it); only dh, the residual stream's gradient, accumulates its identity and branch parts.
    -- "st.dbranch" holds dL/d(a batch norm's output) and is dead once that batch norm's backward ran
    local d_o = ws.any_shape("st.dbranch", fshape)
    self.conv_out:backward(self.skip, dout, d_o, false, self.bn_out:act())
    local dskip = ws.any_shape("st.dskip", fshape)
    self.bn_out:backward(self.skip, d_o, dskip, nil, false)
    local dh = ws.any_shape("st.dh", fshape)     -- dL/d(h after the last block)
    local dh_written = false                     -- the first gradient into dh writes it
    for b = #self.blocks, 1, -1 do
        local blk = self.blocks[b]
        blk.skip:backward(blk.h_out, dskip, dh, dh_written)
        dh_written = true
        local dv = ws.any_shape("st.dbranch", fshape)
        blk.conv2:backward(blk.r, dh, dv, false, blk.bn2:act())
        local dr = ws.any_shape("st.dr", fshape)
        blk.bn2:backward(blk.r, dv, dr, nil, false)
        local du = ws.any_shape("st.dbranch", fshape)
        blk.conv1:backward(blk.h_in, dr, du, false, blk.bn1:act())
        blk.bn1:backward(blk.h_in, du, dh)       -- dh becomes dL/d(h before the block): identity + branch
    end
    self.skip_in:backward(self.h0, dskip, dh, dh_written)
    local da = ws.any_shape("st.da", {n, 2 * self.inputs, h, w})
    self.conv_in:backward(self.a, dh, da, false)
    local dhb = ws.any_shape_zeroed("st.dhb", x.shape) -- nvp_crelu_backward accumulates (2n channels: small)
    check(C.nvp_crelu_backward(dhb.data, da.data, self.hb.data, self.scale, n, self.inputs, h * w), 2)
    local dx = ws.any_shape("st.dx", x.shape)
    self.bn_in:backward(x, dhb, dx, nil, false)
    return dx
end

function STNet:__tostring()
    return ("STNet(%d -> %d, width %d, %d blocks)"):format(self.inputs, self.outputs, self.width, self.nblocks)
end

registry.register{
    name = "ResNet", kind = "net",
    doc = "the s/t network of a coupling: weight-normalised convs, batch norm, ReLU, a skip sum per block",
    args = {
        {"width", "integer", 64, "feature maps", check = function(v) if v < 1 then return "must be >= 1" end end},
        {"blocks", "integer", 8, "residual blocks", check = function(v) if v < 0 then return "must be >= 0" end end},
    },
    -- shape: {inputs, outputs, H, W, scale = s} from the coupling
    build = function(args, shape, ctx)
        return STNet.new{inputs = shape[1], outputs = shape[2], width = args.width, blocks = args.blocks,
                         scale = shape.scale, rng = ctx.rng}, {shape[2], shape[3], shape[4]}
    end,
    profile = {kind = "elementwise", class = STNet, methods = {"forward", "backward"}},
}

return STNet
