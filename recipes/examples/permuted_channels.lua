-- recipes/examples/permuted_channels.lua: channel-wise couplings separated by fixed channel
-- permutations (a shuffle drawn from a seed, as Glow's "shuffle" variant) instead of alternating
-- parities, after one checkerboard pair at full resolution; one level, squeezed once and unsqueezed.
--   build/nvp train recipes/examples/permuted_channels.lua train.minutes=15
return {
    name = "permuted_channels",
    description = "channel-wise couplings between seeded channel shuffles",
    data = {dataset = "fashion_mnist", heldout = "test", transforms = {"flip"}},
    model = function(nn, dims)
        local layers = {
            nn.Coupling{mask = "checkerboard", parity = 0, net = nn.ResNet{width = 32, blocks = 2}},
            nn.Coupling{mask = "checkerboard", parity = 1, net = nn.ResNet{width = 32, blocks = 2}},
            nn.Squeeze{order = "A"},
        }
        for i = 1, 6 do
            layers[#layers + 1] = nn.Permute{kind = "shuffle", seed = i}
            layers[#layers + 1] = nn.Coupling{mask = "channel", parity = 0, net = nn.ResNet{width = 48, blocks = 2}}
        end
        layers[#layers + 1] = nn.Squeeze{order = "A", inverse = true}
        return nn.Sequence(layers)
    end,
    train = {batch = 64, lr = 1e-3, minutes = 15, eval_every_minutes = 5},
}
