-- recipes/glow_fmnist_cond.lua: class-conditional Glow on Fashion-MNIST: glow_fmnist.lua's flow with
-- Glow's learned priors written as flow layers: a split prior before the factor-out (nn.SplitPrior:
-- the factored-out half ~ N(mean, std^2) given the half that goes on, from a zero-initialised conv),
-- a learned top prior (nn.TopPrior) and the class-conditional prior of the top latent (nn.ClassPrior:
-- a mean and log-std per class, channel and position; Glow's ycond is per channel only, which says
-- little about a class in a top latent of 2 channels). All start as the identity, so at step 0 the
-- model is glow_fmnist.lua's. nvp train gives the model each batch's labels (Fashion-MNIST's label files),
-- evaluates under p(x | y); nvp eval adds the accuracy of argmax_y p(x | y); nvp sample CKPT class=K.
--   build/nvp train recipes/glow_fmnist_cond.lua threads=2
return {
    name = "glow_fmnist_cond",
    description = "class-conditional Glow, Fashion-MNIST, L = 2, K = 10, width 128, learned priors",
    data = {dataset = "fashion_mnist", heldout = "test"},
    model = function(nn, dims)
        local K, width, L = 10, 128, 2
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
                layers[#layers + 1] = nn.ClassPrior{classes = 10, spatial = true}
            end
            levels[level] = nn.Sequence(layers)
        end
        return nn.MultiScale(levels)
    end,
    train = {batch = 64, lr = 1e-3, warmup = 200, minutes = 60, eval_every_minutes = 15, log_every = 50},
    eval = {batch = 100},
}
