-- recipes/demo.lua: what `make demo` runs. A small Real NVP on Fashion-MNIST, trained for about
-- six minutes on 2 cores, then evaluated on 2,000 test images (bits/dim printed) and sampled
-- (runs/demo/samples.png). Every key can be overridden: nvp train recipes/demo.lua train.minutes=1
return {
    name = "demo",
    description = "Fashion-MNIST, small model, 6 minutes",
    data = {dataset = "fashion_mnist", heldout = "test", heldout_images = 2000},
    model = {scales = 2, width = 16, blocks = 2},
    train = {batch = 64, lr = 1e-3, minutes = 6, log_every = 25, checkpoint_every_minutes = 2},
    eval = {batch = 250},
    sample = {n = 64, temperature = 1.0},
    run = {dir = "runs/demo", resume = false},
}
