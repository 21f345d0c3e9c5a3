-- recipes/cifar_ref.lua: docs/REFERENCE.md's `cifar-ref` benchmark network, exactly (19,631,640
-- parameters): 3x32x32, 2 scales (one downscale), s/t width 64, 8 residual blocks, batch 64,
-- Adam 1e-3, L2 5e-5 on the weight-norm scales, clip 100 per group, no flow batch norm.
return {
    name = "cifar_ref",
    description = "docs/REFERENCE.md cifar-ref",
    data = {dataset = "cifar10", heldout = "test"},
    model = {scales = 2, width = 64, blocks = 8, flow_batchnorm = false},
    train = {batch = 64, lr = 1e-3, l2 = 5e-5, clip = 100},
}
