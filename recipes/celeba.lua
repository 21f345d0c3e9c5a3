-- recipes/celeba.lua: the paper's CelebA model (Dinh et al. 2017, Sec. 4.1; Table 1: 3.02 bits/dim on
-- validation). Sources of each number:
--   data           img_align_celeba cropped to rows 40:188, columns 15:163 (148x148) and resized to
--                  64x64, horizontal flips in training (paper Sec. 4.1; the code's celeba branch);
--                  list_eval_partition.txt: train 0, validation 1 (19,867), test 2 (19,962)
--   scales 5       64x64 recursed until the last scale is 4x4 (paper Sec. 3.6); README `n_scale=5`
--   width 32       README `base_dim=32`
--   blocks 2       "for 64x64 ... 2 residual blocks" (paper); the README's CelebA command says
--                  residual_blocks=4: the paper is followed, override with model.blocks=4
--   batch 64, Adam 1e-3, L2 5e-5 on the weight-norm scales, clip 100: paper Sec. 4.1, README
--   flow batch norm: the original code's bn_out (use_batch_norm=1)
-- Data: data.root=DIR holding img_align_celeba/ and list_eval_partition.txt. data.heldout=test
-- evaluates the test partition instead.
return {
    name = "celeba",
    description = "CelebA 64x64, the paper's settings",
    data = {dataset = "celeba", heldout = "valid", flip = true},
    model = {scales = 5, width = 32, blocks = 2, flow_batchnorm = true},
    train = {batch = 64, lr = 1e-3, l2 = 5e-5, clip = 100, eval_every_minutes = 60, checkpoint_every_minutes = 10},
    eval = {batch = 100},
}
