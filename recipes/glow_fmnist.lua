-- recipes/glow_fmnist.lua: Glow (Kingma & Dhariwal 2018) on Fashion-MNIST, written with the layer
-- library: L = 2 levels of K = 10 steps of actnorm -> invertible 1x1 convolution (LU) -> affine coupling
-- (scale sigmoid(h + 2), a ConvNet of width 128 whose last convolution starts at zero), each level on
-- squeezed maps (1x28x28 -> 4x14x14, then half of it, 8x7x7), with a factor-out between the levels.
-- Sized for 2 cores (Glow itself: K = 32, width 512): a step costs about what fashion_mnist.lua's does.
--   build/nvp train recipes/glow_fmnist.lua threads=2
return {
    name = "glow_fmnist",
    description = "Glow, Fashion-MNIST, L = 2, K = 10, width 128",
    data = {dataset = "fashion_mnist", heldout = "test"},
    model = function(nn, dims)
        local K, width = 10, 128
        local levels = {}
        for level = 1, 2 do
            local layers = {nn.Squeeze{order = "A"}}
            for k = 1, K do
                layers[#layers + 1] = nn.ActNorm{}
                layers[#layers + 1] = nn.InvConv1x1{lu = true}
                layers[#layers + 1] = nn.GlowCoupling{kind = "affine", parity = k % 2, net = nn.ConvNet{width = width}}
            end
            layers[#layers + 1] = nn.Squeeze{order = "A", inverse = true}
            levels[level] = nn.Sequence(layers)
        end
        return nn.MultiScale(levels)
    end,
    train = {batch = 64, lr = 1e-3, warmup = 200, minutes = 60, eval_every_minutes = 15, log_every = 50},
    eval = {batch = 100},
}
