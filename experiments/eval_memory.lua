-- experiments/eval_memory.lua: peak memory of evaluate.bits_per_dim with and without model:inference
-- (the layers sharing buffers while nothing runs backward); share=0 turns the sharing off.
--   /usr/bin/time -f "maxrss %M KB %e s" build/nvp experiments/eval_memory.lua ckpt=CKPT share=0|1 batch=500 n=1000 threads=1
-- The images: the first n of the Fashion-MNIST test set (Debian dataset-fashion-mnist).
local opts = ... or {}
local run = require "nvp.run"
local idx = require "nvp.data.idx"
local evaluate = require "nvp.evaluate"
local ck = assert(run.open(opts.ckpt))
if opts.share == 0 then ck.model.inference = function(_, fn) return fn() end end
local images = assert(idx.read_images("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")):narrow(1, opts.n or 1000)
local bpd = evaluate.bits_per_dim(ck.model, images, {batch = opts.batch or 500})
print(("share=%s batch=%d bits/dim %.6f"):format(tostring(opts.share), opts.batch or 500, bpd))
