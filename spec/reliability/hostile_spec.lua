-- Hostile files: every kept regression input of spec/reliability/hostile/FORMAT/ (hand-made, and any
-- crash experiments/fuzz finds) is refused with one line naming the file; a corrupt file of each
-- format stops the CLI with that line and exit code 1. (A checkpoint's model is data:
-- checkpoint_data_spec.lua.)
local ffi = require "ffi"
local lfs = require "lfs"
local fs = require "nvp.fs"
local checkpoint = require "nvp.checkpoint"
local fixture = dofile("spec/reliability/fixture.lua")

local HOSTILE = "spec/reliability/hostile"

local function inputs(format)
    local found = {}
    for name in lfs.dir(HOSTILE .. "/" .. format) do
        if name:sub(1, 1) ~= "." then found[#found + 1] = HOSTILE .. "/" .. format .. "/" .. name end
    end
    table.sort(found)
    return found
end

-- message: one line that names the file
local function assert_one_line(path, message)
    assert.is_string(message)
    assert.is_nil(message:find("\n"), message)
    assert.truthy(message:find(path, 1, true), ("'%s' does not name %s"):format(message, path))
end

-- decode(image, path, channels) for 3 channels, then 1: false and the message, or true.
local function decode_one(decode, path)
    for _, channels in ipairs{3, 1} do
        local image = ffi.new("nvp_images")
        if decode(image, path, channels) ~= 0 then return false, ffi.string(NVP.nvp_last_error()) end
        NVP.nvp_images_free(image)
    end
    return true
end

-- Each reader, as the library calls it: nil/false and the message, or true.
local READERS = {
    idx = function(path)
        local images = ffi.new("nvp_images")
        if NVP.nvp_idx_read_images(images, path) == 0 then
            NVP.nvp_images_free(images)
            return true
        end
        local images_error = ffi.string(NVP.nvp_last_error())
        local labels, count = ffi.new("uint8_t *[1]"), ffi.new("int64_t[1]")
        if NVP.nvp_idx_read_labels(labels, count, path) == 0 then
            NVP.nvp_free(labels[0])
            return true
        end
        return false, images_error
    end,
    cifar = function(path)
        local images, labels = ffi.new("nvp_images"), ffi.new("uint8_t *[1]")
        local paths = ffi.new("const char *[1]", {path})
        if NVP.nvp_cifar_read(images, labels, paths, 1) == 0 then
            NVP.nvp_images_free(images)
            NVP.nvp_free(labels[0])
            return true
        end
        return false, ffi.string(NVP.nvp_last_error())
    end,
    png = function(path) return decode_one(NVP.nvp_png_read, path) end,
    jpeg = function(path) return decode_one(NVP.nvp_jpeg_read, path) end,
    -- as engine/fuzz/fuzz_imagefolder.c lays it out: 8 bytes choosing the preprocessing, then the file
    imagefolder = function(path)
        local bytes = assert(fs.read(path))
        local b = {bytes:byte(1, 8)}
        local pre = ffi.new("nvp_preprocess")
        pre.channels = b[1] % 2 == 1 and 3 or 1
        local function bit(k) return math.floor(b[1] / k) % 2 == 1 end
        if bit(2) then
            pre.crop_y, pre.crop_x = b[2] % 64, b[3] % 64
            pre.crop_height, pre.crop_width = b[4] % 64 + 1, b[5] % 64 + 1
        end
        if bit(4) then pre.resize_height, pre.resize_width = b[6] % 64 + 1, b[7] % 64 + 1 end
        if bit(8) then pre.smallest_side = b[8] % 64 + 1 end
        if bit(16) then pre.expect_height, pre.expect_width = math.floor(b[2] / 4) + 1, math.floor(b[3] / 4) + 1 end
        local file = os.tmpname()
        assert(fs.write(file, bytes:sub(9)))
        local images, status, message = ffi.new("nvp_images[1]"), ffi.new("int32_t[1]"), ffi.new("char[512]")
        local paths = ffi.new("const char *[1]", {file})
        assert(NVP.nvp_images_decode(images, status, message, 512, paths, 1, pre) == 0)
        os.remove(file)
        if status[0] == 0 then
            NVP.nvp_images_free(images)
            return true
        end
        return false, (ffi.string(message):gsub(file:gsub("%p", "%%%0"), path))
    end,
    pack = function(path)
        local pack = ffi.new("nvp_pack")
        if NVP.nvp_pack_open(pack, path) == 0 then
            NVP.nvp_pack_close(pack)
            return true
        end
        return false, ffi.string(NVP.nvp_last_error())
    end,
    safetensors = function(path)
        local t, err = checkpoint.load(path)
        return t ~= nil, err
    end,
}

describe("hostile files", function()
    for format, read in pairs(READERS) do
        it(format .. ": every kept input is refused with one line naming the file", function()
            local files = inputs(format)
            assert.is_true(#files > 0)
            for _, path in ipairs(files) do
                local ok, err = read(path)
                assert.is_false(ok, path .. " was accepted")
                assert_one_line(path, err)
            end
        end)
    end
end)

describe("a corrupt file stops the CLI with one line and exit code 1", function()
    local dir
    setup(function()
        dir = tmpdir()
        fixture.write_dataset(dir)
        fixture.write_recipe(dir .. "/r.lua")
    end)
    teardown(function() os.execute("rm -rf " .. dir) end)

    local function expect_refusal(cmd, names)
        local code, out = fixture.run(cmd)
        assert.are.equal(1, code, out)
        out = out:gsub("\n$", "")
        assert_one_line(names, out)
        return out
    end

    it("IDX images and labels", function()
        for _, case in ipairs{{"train-images-idx3-ubyte.gz", "absurd-dims"}, {"t10k-labels-idx1-ubyte.gz", "truncated"}} do
            local root = dir .. "/idx-" .. case[2]
            os.execute(("mkdir -p %s && cp %s/*.gz %s/ && cp %s/idx/%s %s/%s"):format(root, dir, root, HOSTILE,
                case[2], root, case[1]))
            expect_refusal(("%s train %s/r.lua data.root=%s run.dir=%s/run"):format(nvp_exe(), dir, root, root),
                root .. "/" .. case[1])
        end
    end)

    it("a CIFAR-10 batch", function()
        local root = dir .. "/cifar"
        assert(fs.mkdir_p(root))
        local record = "\3" .. ("\7"):rep(3072)
        for _, name in ipairs{"data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"} do
            assert(fs.write(root .. "/" .. name .. ".bin", record))
        end
        os.execute(("cp %s/cifar/label-11 %s/data_batch_1.bin"):format(HOSTILE, root))
        local out = expect_refusal(("%s train %s/r.lua data.dataset=cifar10 data.root=%s run.dir=%s/run"):format(
            nvp_exe(), dir, root, root), root .. "/data_batch_1.bin")
        assert.matches("record 1 has label 11", out, 1, true)
    end)

    it("a PNG or JPEG in an image folder (the last line: progress goes to stderr before it)", function()
        for _, bad in ipairs{"png/short-idat.png", "jpeg/truncated.jpg", "jpeg/absurd-dims.jpg"} do
            local root = dir .. "/folder-" .. bad:gsub("[/.]", "-")
            assert(fs.mkdir_p(root .. "/train") and fs.mkdir_p(root .. "/test"))
            for _, name in ipairs{"train/a.png", "train/b.png", "test/c.png"} do
                os.execute(("cp spec/fixtures/fuzz_seeds/png/gray.png %s/%s"):format(root, name))
            end
            local target = root .. "/train/bad." .. bad:match("%.(%a+)$")
            os.execute(("cp %s/%s %s"):format(HOSTILE, bad, target))
            local code, out = fixture.run_stderr(("%s train %s/r.lua data.dataset=folder data.root=%s data.size=4 "
                .. "data.channels=1 data.cache=%s/cache train.batch=2 run.dir=%s/run"):format(nvp_exe(), dir, root,
                root, root))
            assert.are.equal(1, code, out)
            assert_one_line(target, out:match("([^\n]*)\n?$"))
        end
    end)

    it("a checkpoint (safetensors)", function()
        for _, path in ipairs(inputs("safetensors")) do
            expect_refusal(("%s eval %s"):format(nvp_exe(), path), path)
        end
    end)
end)
