-- recipes/fmnist_small.lua: docs/REFERENCE.md's `fmnist-small` benchmark network, exactly (2,487,112
-- parameters): 1x28x28, 2 scales, s/t width 32, 4 residual blocks, batch 64, Adam 1e-3, L2 5e-5 on
-- the weight-norm scales, clip 100 per group, no flow batch norm.
return {
    name = "fmnist_small",
    description = "docs/REFERENCE.md fmnist-small",
    data = {dataset = "fashion_mnist", heldout = "test"},
    model = {scales = 2, width = 32, blocks = 4, flow_batchnorm = false},
    train = {batch = 64, lr = 1e-3, l2 = 5e-5, clip = 100},
}
