-- recipes/fashion_mnist.lua: the default model for Fashion-MNIST on a 2-core CPU, the figure we race
-- the PyTorch peer on (test bits/dim after 60 minutes; docs/REFERENCE.md's fmnist-small reached 3.558).
-- Architecture of the paper's multi-scale Real NVP (2 scales for 28x28: one squeeze), held-out
-- evaluation on the full test set every 15 minutes. Sized for the budget: in 60 minutes on 2 cores
-- the peer's fmnist-small (width 32, 4 blocks) sees about 2 epochs; width 24 with 2 blocks costs a
-- third as much per image (about 100 img/s here), so it sees about 6.
return {
    name = "fashion_mnist",
    description = "Fashion-MNIST, 2 scales, 60 minutes on 2 cores",
    data = {dataset = "fashion_mnist", heldout = "test"},
    model = {scales = 2, width = 24, blocks = 2},
    train = {batch = 64, lr = 1e-3, minutes = 60, eval_every_minutes = 15, log_every = 50},
    eval = {batch = 500},
}
