-- IDX reader: real Fashion-MNIST (when installed) and hostile files.
local idx = require "nvp.data.idx"
local fashion_mnist = require "nvp.data.fashion_mnist"

local function be32(n)
    return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
end

local function write(path, bytes)
    local f = assert(io.open(path, "wb"))
    f:write(bytes)
    f:close()
    return path
end

describe("IDX reader", function()
    local dir
    setup(function() dir = tmpdir() end)
    teardown(function() os.execute("rm -rf " .. dir) end)

    it("reads a plain and a gzip'd image file", function()
        local pixels = {}
        for i = 1, 2 * 3 * 4 do pixels[i] = string.char(i) end
        local path = write(dir .. "/ok-idx3-ubyte", be32(0x803) .. be32(2) .. be32(3) .. be32(4) .. table.concat(pixels))
        for _, p in ipairs{path, path .. ".gz"} do
            if p:match("%.gz$") then os.execute("gzip -kn " .. path) end
            local imgs = assert(idx.read_images(p))
            assert.are.same({2, 1, 3, 4}, {imgs.count, imgs.channels, imgs.height, imgs.width})
            assert.are.equal(1, imgs.data[0])
            assert.are.equal(24, imgs.data[23])
        end
    end)

    it("refuses a truncated file with a one-line message", function()
        local path = write(dir .. "/short", be32(0x803) .. be32(10) .. be32(28) .. be32(28) .. ("x"):rep(100))
        local imgs, err = idx.read_images(path)
        assert.is_nil(imgs)
        assert.are.equal(path .. ": header promises 7856 bytes but the file has 116 (truncated)", err)
        os.execute("gzip -kn " .. path)
        imgs, err = idx.read_images(path .. ".gz")
        assert.is_nil(imgs)
        assert.matches("short.gz: header promises 7856 bytes but the gzip stream holds 116", err, 1, true)
    end)

    it("refuses a gzip stream cut short", function()
        local path = write(dir .. "/cut", be32(0x803) .. be32(100) .. be32(28) .. be32(28) .. ("\7"):rep(78400))
        os.execute("gzip -n " .. path .. " && head -c 60 " .. path .. ".gz > " .. path .. "-cut.gz")
        local imgs, err = idx.read_images(path .. "-cut.gz")
        assert.is_nil(imgs)
        assert.matches("cut%-cut%.gz: ", err)
        assert.is_nil(err:find("\n"))
    end)

    it("refuses a wrong magic and absurd dimensions", function()
        local path = write(dir .. "/labels", be32(0x801) .. be32(3) .. "abc")
        local imgs, err = idx.read_images(path)
        assert.is_nil(imgs)
        assert.matches("bad IDX magic 0x00000801 %(expected 0x00000803, uint8 images%)", err)
        path = write(dir .. "/huge", be32(0x803) .. be32(4000000000) .. be32(65535) .. be32(65535))
        imgs, err = idx.read_images(path)
        assert.is_nil(imgs)
        assert.matches("absurd IDX image dimensions 4000000000 x 65535 x 65535", err, 1, true)
        imgs, err = idx.read_images(dir .. "/nope")
        assert.is_nil(imgs)
        assert.matches("nope: cannot open", err, 1, true)
    end)

    it("reads labels", function()
        local path = write(dir .. "/lab", be32(0x801) .. be32(3) .. "\0\1\9")
        local labels = assert(idx.read_labels(path))
        assert.are.same({3, 0, 1, 9}, {labels.count, labels.data[0], labels.data[1], labels.data[2]})
    end)

    it("loads Fashion-MNIST from the Debian package", function()
        local images, labels = fashion_mnist.load("test")
        if images == nil then
            pending("Fashion-MNIST not installed: " .. labels)
            return
        end
        assert.are.same({10000, 1, 28, 28}, {images.count, images.channels, images.height, images.width})
        assert.are.equal(10000, labels.count)
        local counts = {}
        for i = 0, labels.count - 1 do counts[labels.data[i]] = (counts[labels.data[i]] or 0) + 1 end
        for class = 0, 9 do assert.are.equal(1000, counts[class]) end
    end)

    it("says where Fashion-MNIST was expected when it is missing", function()
        local images, err = fashion_mnist.load("train", dir)
        assert.is_nil(images)
        assert.matches("train%-images%-idx3%-ubyte%.gz: not found; .*apt%-get install dataset%-fashion%-mnist", err)
    end)
end)
