-- recipes/glow_cifar10.lua: Glow (Kingma & Dhariwal 2018) on CIFAR-10, written with the layer library:
-- L = 3 levels of K = 8 steps of actnorm -> invertible 1x1 convolution (LU) -> affine coupling (scale
-- sigmoid(h + 2), a ConvNet of width 128 whose last convolution starts at zero), on squeezed maps
-- (3x32x32 -> 12x16x16, then half of it, 24x8x8, then half again, 48x4x4), factor-outs between the
-- levels, random horizontal flips. Sized for 2 cores (the paper's CIFAR-10 model: K = 32, width 512).
-- Data: ../shared/data/cifar10 or data.root=DIR (the binary release).
--   build/nvp train recipes/glow_cifar10.lua threads=2
return {
    name = "glow_cifar10",
    description = "Glow, CIFAR-10, L = 3, K = 8, width 128",
    data = {dataset = "cifar10", heldout = "test", flip = true},
    model = function(nn, dims)
        local K, width = 8, 128
        local levels = {}
        for level = 1, 3 do
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
    train = {batch = 64, lr = 1e-3, warmup = 500, eval_every_minutes = 60, checkpoint_every_minutes = 10},
    eval = {batch = 100},
}
