-- recipes/glow_cifar10_cond.lua: class-conditional Glow on CIFAR-10: glow_cifar10.lua's flow with
-- Glow's learned priors written as flow layers: a split prior before each factor-out (nn.SplitPrior:
-- the factored-out half ~ N(mean, std^2) given the half that goes on, from a zero-initialised conv),
-- a learned top prior (nn.TopPrior) and the class-conditional prior of the top latent (nn.ClassPrior:
-- a mean and log-std per class and channel, Glow's ycond). All start as the identity, so at step 0 the
-- model is glow_cifar10.lua's. nvp train gives the model each batch's labels (CIFAR-10's label bytes),
-- evaluates under p(x | y); nvp eval adds the accuracy of argmax_y p(x | y); nvp sample CKPT class=K.
--   build/nvp train recipes/glow_cifar10_cond.lua threads=2
return {
    name = "glow_cifar10_cond",
    description = "class-conditional Glow, CIFAR-10, L = 3, K = 8, width 128, learned priors",
    data = {dataset = "cifar10", heldout = "test", flip = true},
    model = function(nn, dims)
        local K, width, L = 8, 128, 3
        local levels = {}
        for level = 1, L do
            local layers = {nn.Squeeze{order = "A"}}
            for k = 1, K do
                layers[#layers + 1] = nn.ActNorm{}
                layers[#layers + 1] = nn.InvConv1x1{lu = true}
                layers[#layers + 1] = nn.GlowCoupling{kind = "affine", parity = k % 2, net = nn.ConvNet{width = width}}
            end
            layers[#layers + 1] = nn.Squeeze{order = "A", inverse = true}
            if level < L then
                layers[#layers + 1] = nn.SplitPrior{}         -- then nn.MultiScale's FactorOut
            else
                layers[#layers + 1] = nn.TopPrior{}
                layers[#layers + 1] = nn.ClassPrior{classes = 10}
            end
            levels[level] = nn.Sequence(layers)
        end
        return nn.MultiScale(levels)
    end,
    train = {batch = 64, lr = 1e-3, warmup = 500, eval_every_minutes = 60, checkpoint_every_minutes = 10},
    eval = {batch = 100},
}
