-- recipes/demo.lua: what `make demo` runs. A small Real NVP on Fashion-MNIST, trained for six
-- minutes on 2 cores, then evaluated on 2,000 test images (bits/dim printed) and sampled
-- (runs/demo/samples.png). Every key can be overridden: nvp train recipes/demo.lua train.minutes=1
-- Batch 32: in six minutes twice the updates of batch 64, which measured 3.52 test bits/dim against
-- 3.78. samples.png is drawn at temperature 0.8 (z ~ N(0, 0.64 I), as Glow shows its samples): a
-- six-minute model's T = 1 samples are garment-shaped noise; the page shows T = 1 and a
-- temperature strip beside it.
-- eval.bn_images: batch norm is evaluated with statistics averaged over 2,000 training images, as the
-- paper evaluates (Sec. 3.7), not with the running averages of the last steps: after 3,400 steps of
-- batch 32 (the AVX-512 engine's six minutes) the running averages gave 3.61 test bits/dim on the same
-- checkpoint for which the averaged statistics give 3.43 (`nvp eval runs/demo/last.safetensors
-- bn_images=2000`, 10,000 test images).
return {
    name = "demo",
    description = "Fashion-MNIST, small model, 6 minutes",
    data = {dataset = "fashion_mnist", heldout = "test", heldout_images = 2000},
    model = {scales = 2, width = 16, blocks = 2},
    train = {batch = 32, lr = 1e-3, minutes = 6, log_every = 50, checkpoint_every_minutes = 2},
    eval = {batch = 250, bn_images = 2000},
    sample = {n = 64, temperature = 0.8},
    run = {dir = "runs/demo", resume = false},
}
