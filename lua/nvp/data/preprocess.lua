-- nvp.data.preprocess: each dataset's preprocessing, as the paper and the original code did it
-- (Dinh et al. 2017, Sec. 4.1; tensorflow/models research/real_nvp, cited by file below), split into
-- what is done once when the cache is built (`decode`: an nvp_preprocess for nvp_images_decode) and
-- what is drawn per training step (`train_crop`, `flip`) or fixed for evaluation (`eval_crop`).
--
-- ImageNet 32x32 / 64x64 (Oord et al.'s downsampled release, PNG files): nothing; every file must be
--   exactly 32x32 (64x64). No flips: the "imnet" branch of real_nvp_multiscale_dataset.py has none,
--   and the paper lists flips only for CIFAR-10, CelebA and LSUN.
-- CelebA (img_align_celeba, 218x178 JPEG): every file must be 218x178; the crop rows 40:188, columns
--   15:163 (148x148, real_nvp_multiscale_dataset.py `image[40:188, 15:163, :]`), then bilinear resize
--   to 64x64 (`tf.image.resize_images(x, [64, 64], method=0)`, TF1 bilinear, align_corners=False:
--   engine/src/kernels/resize.c), random horizontal flips in training. Deviations, both forced by a
--   uint8 cache of 64x64 images: the resized values are rounded to integers (TF kept floats), and the
--   flip is applied after the resize (TF flipped the 148x148 crop first; TF1's resize grid is not
--   mirror-symmetric, so the two differ by a 0.57-pixel shift of the sampling grid in flipped images).
-- LSUN (bedroom, tower, church_outdoor; fyu/lsun `data.py export --flat`): lsun_formatting.py reduces
--   each image with skimage's pyramid_reduce so that its smaller side is 96 (engine/src/kernels/
--   resize.c: Gaussian smoothing, bilinear resampling, truncation to uint8), stored at that size
--   (e.g. 96x128); training takes a random 64x64 crop (`tf.image.random_crop`) and a random flip. For
--   evaluation the paper's protocol is followed with the central 64x64 crop (the released code took a
--   random crop in eval mode too, so its numbers carried crop noise).
-- CIFAR-10 keeps its loader (nvp.data.cifar10) with flips; Fashion-MNIST, none.
local ffi = require "ffi"
require "nvp.ffi"

local M = {}

-- name -> {decode = nvp_preprocess fields, side, flip, crop = "random" | nil}
M.DATASETS = {
    imagenet32 = {decode = {channels = 3, expect_height = 32, expect_width = 32}, side = 32, flip = false},
    imagenet64 = {decode = {channels = 3, expect_height = 64, expect_width = 64}, side = 64, flip = false},
    celeba = {decode = {channels = 3, expect_height = 218, expect_width = 178, crop_y = 40, crop_x = 15,
                        crop_height = 148, crop_width = 148, resize_height = 64, resize_width = 64},
              side = 64, flip = true},
    lsun = {decode = {channels = 3, smallest_side = 96}, side = 64, flip = true, crop = "random"},
}

local FIELDS = {"channels", "expect_height", "expect_width", "crop_y", "crop_x", "crop_height", "crop_width",
                "resize_height", "resize_width", "smallest_side"}

--- An nvp_preprocess struct from a table of its fields (absent = 0).
function M.struct(t)
    local p = ffi.new("nvp_preprocess")
    for _, f in ipairs(FIELDS) do p[f] = t[f] or 0 end
    return p
end

--- A one-line description of a decode table, for fingerprints and messages.
function M.describe(t)
    local parts = {}
    for _, f in ipairs(FIELDS) do parts[#parts + 1] = f .. "=" .. tostring(t[f] or 0) end
    return table.concat(parts, ",")
end

--- The central out_h x out_w crop of an h x w image: top row and left column (0-based). For an odd
-- margin the extra pixel goes to the bottom/right (TF's central_crop and PIL's CenterCrop agree).
function M.central_offset(h, w, out_h, out_w)
    return math.floor((h - out_h) / 2), math.floor((w - out_w) / 2)
end

--- A random crop's offset from two uniforms in [0, 1): every offset 0..h-out_h equally likely
-- (tf.image.random_crop).
function M.random_offset(h, w, out_h, out_w, u1, u2)
    local y = math.min(math.floor(u1 * (h - out_h + 1)), h - out_h)
    local x = math.min(math.floor(u2 * (w - out_w + 1)), w - out_w)
    return y, x
end

return M
