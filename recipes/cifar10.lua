-- recipes/cifar10.lua: the paper's CIFAR-10 model (Dinh et al. 2017, Sec. 4.1): 8 residual blocks,
-- 64 feature maps, one downscale (2 scales), batch 64, Adam with default hyper-parameters, L2 5e-5
-- on the weight-scale parameters, random horizontal flips, batch norm as a flow layer ("used for our
-- results on CIFAR-10", App. E; the original code's bn_out, eps 1e-4). Test bits/dim reported on the
-- 10,000 test images. Data: ../shared/data/cifar10 or data.root=DIR (the binary release).
return {
    name = "cifar10",
    description = "CIFAR-10, the paper's settings",
    data = {dataset = "cifar10", heldout = "test", flip = true},
    model = {scales = 2, width = 64, blocks = 8, flow_batchnorm = true},
    train = {batch = 64, lr = 1e-3, l2 = 5e-5, clip = 100, eval_every_minutes = 60, checkpoint_every_minutes = 10},
    eval = {batch = 100},
}
