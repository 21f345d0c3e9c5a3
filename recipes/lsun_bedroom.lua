-- recipes/lsun_bedroom.lua: the paper's LSUN bedroom model (Dinh et al. 2017, Sec. 4.1; Table 1: 2.72
-- bits/dim on validation). Sources of each number:
--   data           smallest side reduced to 96, random 64x64 crops and horizontal flips in training
--                  (paper Sec. 4.1; lsun_formatting.py and the code's lsun branch), central 64x64 crops of
--                  the 300 validation images for evaluation (nvp.data.preprocess documents each step)
--   scales 5       64x64 recursed until the last scale is 4x4 (paper Sec. 3.6); README `n_scale=5`
--   width 32       README `base_dim=32`
--   blocks 2       "for 64x64 ... 2 residual blocks" (paper); the README's LSUN command says
--                  residual_blocks=4: the paper is followed, override with model.blocks=4
--   batch 64, Adam 1e-3, L2 5e-5 on the weight-norm scales, clip 100: paper Sec. 4.1, README
--   flow batch norm: the original code's bn_out (use_batch_norm=1)
-- Data: data.root=DIR holding bedroom_train/ and bedroom_val/ (fyu/lsun `data.py export ... --flat`).
return {
    name = "lsun_bedroom",
    description = "LSUN bedroom, the paper's settings",
    data = {dataset = "lsun_bedroom", heldout = "valid", flip = true},
    model = {scales = 5, width = 32, blocks = 2, flow_batchnorm = true},
    train = {batch = 64, lr = 1e-3, l2 = 5e-5, clip = 100, eval_every_minutes = 60, checkpoint_every_minutes = 10},
    eval = {batch = 100},
}
