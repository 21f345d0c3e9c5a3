-- nvp.data.transforms: a recipe's data pipeline on uint8 batches.
local ffi = require "ffi"
local transforms = require "nvp.data.transforms"
local images_mod = require "nvp.data.images"
local recipe = require "nvp.recipe"

-- n images of c x h x w whose pixel (k, ch, y, x) is (k * 7 + ch * 5 + y * 3 + x) % 256 + 1 (never 0)
local function batch(n, c, h, w)
    local data = ffi.new("uint8_t[?]", n * c * h * w)
    for k = 0, n - 1 do for ch = 0, c - 1 do for y = 0, h - 1 do for x = 0, w - 1 do
        data[((k * c + ch) * h + y) * w + x] = (k * 7 + ch * 5 + y * 3 + x) % 255 + 1
    end end end end
    return data
end

describe("data.transforms", function()
    it("gives each transform's output size and refuses bad entries by index", function()
        local d = transforms.out_dims({"flip", {"random_crop", size = 6, padding = 2}, {"resize", size = 4}},
            {channels = 3, height = 8, width = 8})
        assert.are.same({channels = 3, height = 4, width = 4}, d)
        assert.matches("'data.transforms[2]' must be one of", error_of(function()
            transforms.check({"flip", {"rotate"}}) end), 1, true)
        assert.matches("'data.transforms[1]' (center_crop) needs size = S", error_of(function()
            transforms.check({{"center_crop"}}) end), 1, true)
        assert.matches("'data.transforms[1].padding' must be a non-negative integer", error_of(function()
            transforms.check({{"random_crop", size = 4, padding = -1}}) end), 1, true)
        assert.matches("does not fit 8x8", error_of(function()
            transforms.out_dims({{"center_crop", size = 9}}, {channels = 1, height = 8, width = 8}) end), 1, true)
        assert.matches("'data.transforms[1]'", error_of(function()
            recipe.from_text("return {data = {transforms = {{'blur'}}}}", "t.lua") end), 1, true)
    end)

    it("crops randomly inside the zero padding in training, centrally in evaluation, the same after a resume", function()
        local p = transforms.new({{"random_crop", size = 4, padding = 2}}, {channels = 1, height = 4, width = 4}, 7)
        local n = 16
        local function shifts(position)
            local out = p:train_batch(batch(n, 1, 4, 4), n, position)
            local seen = {}
            for k = 0, n - 1 do
                -- locate the image's pixel (0,0) (value k*7 % 255 + 1) in its window: the shift, or "out" when padded away
                local v, at = (k * 7) % 255 + 1, "out"
                for i = 0, 15 do if out[k * 16 + i] == v then at = i break end end
                seen[#seen + 1] = tostring(at)
            end
            return table.concat(seen, ",")
        end
        local a, b = shifts(3), shifts(3)
        assert.are.equal(a, b)                       -- a function of the batch's place in the run
        assert.are_not.equal(a, shifts(4))
        local zeros = 0
        local out = p:train_batch(batch(n, 1, 4, 4), n, 5)
        for i = 0, n * 16 - 1 do if out[i] == 0 then zeros = zeros + 1 end end
        assert.is_true(zeros > 0, "no padding reached the windows")
        -- evaluation: the same size, so the images themselves
        local imgs = images_mod.wrap(batch(2, 1, 4, 4), 2, 1, 4, 4)
        assert.are.equal(imgs, p:eval_images(imgs))
    end)

    it("center-crops and resizes held-out images; flips and Lua transforms only in training", function()
        local calls = 0
        local p = transforms.new({"flip", {"center_crop", size = 2}, function(b, rng)
            calls = calls + 1
            for i = 0, b.n * b.channels * b.height * b.width - 1 do b.data[i] = 255 - b.data[i] end
        end}, {channels = 1, height = 4, width = 4}, 0)
        local imgs = images_mod.wrap(batch(3, 1, 4, 4), 3, 1, 4, 4)
        local ev = p:eval_images(imgs)
        assert.are.same({3, 1, 2, 2}, {ev.count, ev.channels, ev.height, ev.width})
        for k = 0, 2 do
            for y = 0, 1 do for x = 0, 1 do
                assert.are.equal(imgs.data[k * 16 + (y + 1) * 4 + x + 1], ev.data[k * 4 + y * 2 + x])
            end end
        end
        assert.are.equal(0, calls)
        local out = p:train_batch(batch(3, 1, 4, 4), 3, 0)
        assert.are.equal(1, calls)
        local k0 = {out[0], out[1]}                   -- inverted centre row of image 0, maybe mirrored
        local a, b = 255 - imgs.data[5], 255 - imgs.data[6]
        assert.is_true((k0[1] == a and k0[2] == b) or (k0[1] == b and k0[2] == a))
        local r = transforms.new({{"resize", size = 2}}, {channels = 1, height = 4, width = 4}):eval_images(imgs)
        assert.are.same({2, 2}, {r.height, r.width})
    end)
end)
