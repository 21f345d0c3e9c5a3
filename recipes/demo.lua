-- recipes/demo.lua: what `make demo` runs.
-- For now (until the trainer lands) it loads Fashion-MNIST from the Debian package and writes a grid
-- of 64 held-out images to runs/demo/examples.png.
--   build/nvp recipes/demo.lua [data.root=DIR] [run.dir=DIR]
local overrides = ... or {}
local lfs = require "lfs"
local fashion_mnist = require "nvp.data.fashion_mnist"
local grid = require "nvp.viz.grid"
local png = require "nvp.viz.png"

local root = overrides.data and overrides.data.root or fashion_mnist.DEFAULT_ROOT
local run_dir = overrides.run and overrides.run.dir or "runs/demo"

local images = assert(fashion_mnist.load("test", root))
print(("loaded %s from %s"):format(tostring(images), root))

local path = ""
for part in run_dir:gmatch("[^/]+") do
    path = (path == "" and run_dir:sub(1, 1) == "/") and "/" .. part or (path == "" and part or path .. "/" .. part)
    lfs.mkdir(path)
end
local pixels, w, h, c = grid.tile(images, {count = 64, cols = 8, pad = 2, background = 255})
local out = run_dir .. "/examples.png"
assert(png.write(out, pixels, w, h, c))
print(("wrote %s (%dx%d)"):format(out, w, h))
