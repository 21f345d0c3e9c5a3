-- recipes/examples/wide_last_scale.lua: a coupling schedule the paper does not have, written as a
-- function of the layer library: 2 checkerboard couplings at full resolution, then 4 channel-wise
-- couplings on the squeezed maps, a factor-out, and a last level of 5 checkerboard couplings whose
-- s/t networks are twice as wide (the half that goes on carries the coarse structure).
--   build/nvp train recipes/examples/wide_last_scale.lua train.minutes=15
return {
    name = "wide_last_scale",
    description = "2 + 4 couplings, then a wider last scale of 5",
    data = {dataset = "fashion_mnist", heldout = "test"},
    model = function(nn, dims)
        local function net(width) return nn.ResNet{width = width, blocks = 2} end
        local first = {
            nn.Coupling{mask = "checkerboard", parity = 0, net = net(32)},
            nn.Coupling{mask = "checkerboard", parity = 1, net = net(32)},
            nn.Squeeze{order = "A"},
        }
        for i = 0, 3 do first[#first + 1] = nn.Coupling{mask = "channel", parity = i % 2, net = net(48)} end
        first[#first + 1] = nn.Squeeze{order = "A", inverse = true}
        local last = {}
        for i = 0, 4 do last[#last + 1] = nn.Coupling{mask = "checkerboard", parity = i % 2, net = net(96)} end
        return nn.MultiScale{nn.Sequence(first), nn.Sequence(last)}
    end,
    train = {batch = 64, lr = 1e-3, minutes = 15, eval_every_minutes = 5},
}
