-- recipes/imagenet64.lua: the paper's ImageNet 64x64 model (Dinh et al. 2017, Sec. 4.1; Table 1: 3.98
-- bits/dim on validation). Sources of each number:
--   scales 5       64x64 recursed until the last scale is 4x4 (paper Sec. 3.6; the README's 64x64 runs
--                  use `n_scale=5`)
--   width 32       the code's base_dim=32 for every 64x64 run (the paper gives feature maps for 32x32 only)
--   blocks 2       "for 64x64 ... 2 residual blocks" (paper); the README's 64x64 commands say
--                  residual_blocks=4: the paper is followed, override with model.blocks=4
--   batch 64, Adam 1e-3, L2 5e-5 on the weight-norm scales, clip 100: paper Sec. 4.1, code defaults
--   flow batch norm: the original code's bn_out (use_batch_norm=1)
--   no flips       as for ImageNet 32x32 (the code's imnet branch)
--   held-out       the validation images, eval batch 100
-- Data: data.root=DIR holding train_64x64/ and valid_64x64/ (PNG folders).
return {
    name = "imagenet64",
    description = "ImageNet 64x64, the paper's settings",
    data = {dataset = "imagenet64", heldout = "valid", flip = false},
    model = {scales = 5, width = 32, blocks = 2, flow_batchnorm = true},
    train = {batch = 64, lr = 1e-3, l2 = 5e-5, clip = 100, eval_every_minutes = 60, checkpoint_every_minutes = 10},
    eval = {batch = 100},
}
