-- The loader's background gather (engine/src/io/prefetch.c via nvp.data.loader): batches with the
-- prefetch thread equal the synchronous ones across an epoch boundary and after set_position; random
-- crops of a varying-size pack stay inside each image and are a pure function of (seed, epoch, index).
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local images = require "nvp.data.images"
local loader = require "nvp.data.loader"
local pack = require "nvp.data.pack"
local C = nffi.C

local function numbered(count)
    local imgs = images.new(count, 3, 4, 6)
    for i = 0, count * 72 - 1 do imgs.data[i] = (i * 7) % 256 end
    return imgs
end

local function batch_string(p, n, bytes)
    return ffi.string(p, n * bytes)
end

describe("prefetch", function()
    it("gives the same batches as the synchronous loader, across epochs and a set_position", function()
        local imgs = numbered(21)
        local a = loader.new{images = imgs, batch = 4, seed = 3, flip = true}
        local b = loader.new{images = imgs, batch = 4, seed = 3, flip = true, prefetch = false}
        for _ = 1, 12 do   -- 5 batches an epoch: crosses two epoch boundaries
            local pa, na, ea = a:next()
            local pb, nb, eb = b:next()
            assert.are.same({nb, eb}, {na, ea})
            assert.are.equal(batch_string(pb, nb, 72), batch_string(pa, na, 72))
        end
        a:set_position{epoch = 1, index = 2}
        b:set_position{epoch = 1, index = 2}
        for _ = 1, 3 do
            local pa, na = a:next()
            local pb = b:next()
            assert.are.equal(batch_string(pb, na, 72), batch_string(pa, na, 72))
        end
        assert.are.same({epoch = 1, index = 5}, a:position()) -- the epoch advances at the next call
    end)

    it("draws random crops inside every image, reproducibly", function()
        local dir = tmpdir()
        local path = dir .. "/v.nvppack"
        local wp = ffi.new("nvp_pack_writer *[1]")
        nffi.check(C.nvp_pack_writer_open(wp, path, 3, 0ULL))
        local sizes = {{10, 13}, {8, 8}, {9, 20}, {12, 8}, {8, 11}, {15, 9}}
        for i, s in ipairs(sizes) do
            -- pixel (k, y, x) = i * 16 + y * 0 ... encode the image and position: value = y * 20 + x (< 256)
            local px = ffi.new("uint8_t[?]", 3 * s[1] * s[2])
            for k = 0, 2 do for y = 0, s[1] - 1 do for x = 0, s[2] - 1 do px[(k * s[1] + y) * s[2] + x] = y * 16 + x end end end
            nffi.check(C.nvp_pack_writer_add(wp[0], px, s[1], s[2]))
        end
        nffi.check(C.nvp_pack_writer_finish(wp[0]))
        local p = assert(pack.open(path))
        local src = {pack = p, count = p.count, channels = 3, height = 8, width = 8, crop = "random"}
        local a = loader.new{images = src, batch = 3, seed = 9, flip = false}
        local b = loader.new{images = src, batch = 3, seed = 9, flip = false, prefetch = false}
        for _ = 1, 6 do
            local pa, n = a:next()
            local pb = b:next()
            assert.are.equal(batch_string(pb, n, 192), batch_string(pa, n, 192))
            for k = 0, n - 1 do
                local h, w = p:size_of(b.index[k])
                local first = pa[k * 192]
                local y0, x0 = math.floor(first / 16), first % 16
                assert.is_true(y0 + 8 <= h and x0 + 8 <= w, ("crop at %d,%d of %dx%d"):format(y0, x0, h, w))
                for y = 0, 7 do for x = 0, 7 do
                    assert.are.equal((y0 + y) * 16 + x0 + x, pa[k * 192 + y * 8 + x])
                end end
            end
        end
    end)
end)
