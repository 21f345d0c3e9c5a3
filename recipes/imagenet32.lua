-- recipes/imagenet32.lua: the paper's ImageNet 32x32 model (Dinh et al. 2017, Sec. 4.1; Table 1: 4.28
-- bits/dim on validation). Sources of each number:
--   scales 4       32x32 recursed until the last scale is 4x4 (paper Sec. 3.6); README `n_scale=4`
--   width 32       "32 feature maps in the first coupling layers" for 32x32 (paper); README `base_dim=32`
--   blocks 4       "4 residual blocks" for 32x32 (paper); README `residual_blocks=4` (they agree)
--   batch 64, Adam 1e-3 (defaults), L2 5e-5 on the weight-norm scales, clip 100: paper Sec. 4.1 and the
--                  code's hpconfig defaults (README `clip_gradient=100`)
--   flow batch norm: the original code's bn_out (use_batch_norm=1 by default, every dataset)
--   no flips       the code's imnet branch has none; the paper lists flips for the other datasets only
--   held-out       the 49,999/50,000 validation images (the code's eval_set_size 50000), eval batch 100
-- Data: data.root=DIR holding train_32x32/ and valid_32x32/ (the release's PNG folders); decoded once
-- into data.cache (nvp prepare recipes/imagenet32.lua).
return {
    name = "imagenet32",
    description = "ImageNet 32x32, the paper's settings",
    data = {dataset = "imagenet32", heldout = "valid", flip = false},
    model = {scales = 4, width = 32, blocks = 4, flow_batchnorm = true},
    train = {batch = 64, lr = 1e-3, l2 = 5e-5, clip = 100, eval_every_minutes = 60, checkpoint_every_minutes = 10},
    eval = {batch = 100},
}
