-- The packed cache (engine/src/io/pack.c, nvp.data.pack): images of any size come back exactly
-- through the map; truncated and corrupt files are refused naming the file before any pixel is read;
-- a changed folder makes the cache stale and rebuilds it.
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local pack = require "nvp.data.pack"
local C = nffi.C

local function write_pack(path, sizes)
    local wp = ffi.new("nvp_pack_writer *[1]")
    nffi.check(C.nvp_pack_writer_open(wp, path, 3, 42ULL))
    for i, s in ipairs(sizes) do
        local n = 3 * s[1] * s[2]
        local px = ffi.new("uint8_t[?]", n)
        for j = 0, n - 1 do px[j] = (j + i) % 251 end
        nffi.check(C.nvp_pack_writer_add(wp[0], px, s[1], s[2]))
    end
    nffi.check(C.nvp_pack_writer_finish(wp[0]))
end

local function bytes_of(path)
    local f = io.open(path, "rb")
    local s = f:read("*a")
    f:close()
    return s
end

local function write_bytes(path, s)
    local f = io.open(path, "wb")
    f:write(s)
    f:close()
end

describe("pack", function()
    local dir = tmpdir()

    it("maps images of varying sizes back exactly", function()
        local path = dir .. "/v.nvppack"
        write_pack(path, {{5, 7}, {3, 2}, {9, 4}})
        local p = assert(pack.open(path))
        assert.are.same({3, 3, 0, 0}, {p.count, p.channels, p.height, p.width})
        assert.is_true(p.fingerprint == 42ULL)
        local off = 0
        for i, s in ipairs{{5, 7}, {3, 2}, {9, 4}} do
            local h, w = p:size_of(i - 1)
            assert.are.same(s, {h, w})
            local rec = p.raw.records[i - 1]
            assert.are.equal(off, tonumber(rec.offset))
            for j = 0, 3 * h * w - 1 do assert.are.equal((j + i) % 251, p.raw.payload[off + j]) end
            off = off + 3 * h * w
        end
        assert.has_error(function() p:images() end)
    end)

    it("gives a fixed-size pack as an Images view", function()
        local path = dir .. "/f.nvppack"
        write_pack(path, {{4, 4}, {4, 4}})
        local imgs = assert(pack.open(path)):images()
        assert.are.same({2, 3, 4, 4}, {imgs.count, imgs.channels, imgs.height, imgs.width})
        assert.are.equal((0 + 2) % 251, imgs.data[48])  -- image 2's first byte
    end)

    it("refuses a truncated, a foreign and a corrupt file by name", function()
        local path = dir .. "/t.nvppack"
        write_pack(path, {{5, 7}, {3, 2}})
        local good = bytes_of(path)
        write_bytes(path, good:sub(1, #good - 5))
        local p, err = pack.open(path)
        assert.is_nil(p)
        assert.matches(path .. ": payload .* do not fit a file of %d+ bytes; truncated or corrupt", err)
        write_bytes(path, good:sub(1, 100))
        _, err = pack.open(path)
        assert.matches(path .. ": 100 bytes, shorter than a pack header", err, 1, true)
        write_bytes(path, "NOTAPACK" .. good:sub(9))
        _, err = pack.open(path)
        assert.are.equal(path .. ": not an nvp pack (no NVPPACK1 magic)", err)
        -- record 1's offset moved into record 0's pixels
        local records = 4096 + 3 * 35 + 3 * 6
        records = records + (8 - records % 8) % 8
        local bad = good:sub(1, records + 16) .. string.char(3, 0, 0, 0, 0, 0, 0, 0) .. good:sub(records + 25)
        write_bytes(path, bad)
        _, err = pack.open(path)
        assert.matches(path .. ": image 1 at payload offset 3 (3 x 3 x 2 bytes) overlaps the previous one", err, 1, true)
    end)

    it("rebuilds a stale cache and keeps a current one", function()
        local root = tmpdir()
        local function img(name, v)
            local px = ffi.new("uint8_t[?]", 2 * 2 * 3)
            ffi.fill(px, 12, v)
            nffi.check(C.nvp_png_write(root .. "/" .. name, px, 2, 2, 3))
        end
        img("a.png", 10)
        img("b.png", 20)
        local decode = {channels = 3, expect_height = 2, expect_width = 2}
        local cache = root .. "/cache/x.nvppack"
        local lines = {}
        local function say(l) lines[#lines + 1] = l end
        local p = assert(pack.ensure{path = cache, files = assert(require("nvp.data.folder").list(root)),
                                     decode = decode, say = say})
        assert.are.equal(2, p.count)
        assert.matches("no cache yet", lines[1], 1, true)
        lines = {}
        p = assert(pack.ensure{path = cache, files = assert(require("nvp.data.folder").list(root)), decode = decode, say = say})
        assert.are.same({}, lines)
        img("c.png", 30)
        p = assert(pack.ensure{path = cache, files = assert(require("nvp.data.folder").list(root)), decode = decode, say = say})
        assert.are.equal(3, p.count)
        assert.matches("stale", lines[1], 1, true)
        assert.are.equal(30, p:images().data[2 * 12])
    end)
end)
