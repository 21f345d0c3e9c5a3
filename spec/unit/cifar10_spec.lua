-- CIFAR-10 binary reader (engine/src/io/cifar.c) and nvp.data.cifar10: hostile files made on the fly,
-- and the real data set when ../shared/data (next to the repository) has it.
local ffi = require "ffi"
local cifar10 = require "nvp.data.cifar10"

local RECORD = 3073

local function write(path, bytes)
    local f = assert(io.open(path, "wb"))
    f:write(bytes)
    f:close()
    return path
end

local function slurp(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

-- n records; record r has label labels[r] (default r % 10) and pixel p (0-based) = (seed + 7 r + p * 13) % 251,
-- scrambled enough that gzip cannot shrink it much.
local function records(n, seed, labels)
    local out = {}
    for r = 0, n - 1 do
        local px = {}
        local x = seed * 7919 + r * 104729 + 1
        for p = 1, 3072 do
            x = (x * 1103515245 + 12345) % 2147483648
            px[p] = string.char(math.floor(x / 65536) % 256)
        end
        out[#out + 1] = string.char(labels and labels[r + 1] or r % 10) .. table.concat(px)
    end
    return table.concat(out)
end

local function gzip(path)
    os.execute("gzip -nf " .. path)
    return path .. ".gz"
end

local function read_paths(paths)
    local c = ffi.new("const char *[?]", #paths)
    for i, p in ipairs(paths) do c[i - 1] = p end
    local raw = ffi.new("nvp_images")
    local labels = ffi.new("uint8_t *[1]")
    local st = NVP.nvp_cifar_read(raw, labels, c, #paths)
    if st ~= 0 then return nil, ffi.string(NVP.nvp_last_error()), st end
    local imgs = require("nvp.data.images").adopt(raw)
    return imgs, ffi.gc(labels[0], NVP.nvp_free)
end

describe("CIFAR-10 reader", function()
    local dir
    setup(function() dir = tmpdir() end)
    teardown(function() os.execute("rm -rf " .. dir) end)

    it("reads plain and gzip'd files: labels and CHW pixels in record order", function()
        local bytes = records(3, 1)
        local plain = write(dir .. "/three.bin", bytes)
        write(dir .. "/three-copy.bin", bytes)
        local gz = gzip(dir .. "/three-copy.bin")
        for _, p in ipairs{plain, gz} do
            local imgs, labels = read_paths{p}
            assert.is_not_nil(imgs, labels)
            assert.are.same({3, 3, 32, 32}, {imgs.count, imgs.channels, imgs.height, imgs.width})
            for r = 0, 2 do
                assert.are.equal(r, labels[r])
                -- red (0,0), green (5,7), blue (31,31) of record r
                for _, off in ipairs{0, 1024 + 5 * 32 + 7, 3071} do
                    assert.are.equal(bytes:byte(r * RECORD + 2 + off), imgs.data[r * 3072 + off])
                end
            end
            assert.are.equal(bytes:sub(2, RECORD), ffi.string(imgs.data, 3072))
        end
    end)

    it("concatenates the training batches in order, gzip'd and plain mixed", function()
        local root = dir .. "/fake"
        assert(require("lfs").mkdir(root))
        local expect = {}
        for b = 1, 5 do
            local n = b % 2 + 1
            local bytes = records(n, 10 + b, (function()
                local l = {}
                for r = 1, n do l[r] = (b + r) % 10 end
                return l
            end)())
            expect[#expect + 1] = bytes
            write(root .. "/data_batch_" .. b .. ".bin", bytes)
            if b % 2 == 1 then gzip(root .. "/data_batch_" .. b .. ".bin") end
        end
        local imgs, labels = cifar10.load("train", root)
        assert.is_not_nil(imgs, labels)
        local all = table.concat(expect)
        assert.are.equal(#all / RECORD, imgs.count)
        assert.are.equal(imgs.count, labels.count)
        for r = 0, imgs.count - 1 do
            assert.are.equal(all:byte(r * RECORD + 1), labels.data[r])
            assert.are.equal(all:sub(r * RECORD + 2, (r + 1) * RECORD), ffi.string(imgs.data + r * 3072, 3072))
        end
        -- a broken third file is named, even though the files are decoded in parallel
        write(root .. "/data_batch_3.bin", records(1, 3, {12}))
        os.remove(root .. "/data_batch_3.bin.gz")
        local none, err = cifar10.load("train", root)
        assert.is_nil(none)
        assert.are.equal(root .. "/data_batch_3.bin: record 0 has label 12 (expected 0-9)", err)
        -- orig4000 is looked for in root/../cifar10-orig4000 too
        assert(require("lfs").mkdir(dir .. "/cifar10-orig4000"))
        write(dir .. "/cifar10-orig4000/orig4000.bin", records(2, 5))
        imgs = assert(cifar10.load("orig4000", root))
        assert.are.equal(2, imgs.count)
    end)

    it("refuses lengths that are not whole records, with one-line messages naming the file", function()
        local cases = {
            {write(dir .. "/short.bin", records(2, 2):sub(1, 2 * RECORD - 100)),
             "the file has 6046 bytes, not a non-zero multiple of the 3073-byte CIFAR-10 record "
                 .. "(truncated or not CIFAR-10)"},
            {write(dir .. "/empty.bin", ""),
             "the file has 0 bytes, not a non-zero multiple of the 3073-byte CIFAR-10 record"},
            {gzip(write(dir .. "/long.bin", records(1, 2) .. "x")),
             "the gzip trailer promises 3074 bytes, not a non-zero multiple of the 3073-byte CIFAR-10 record "
                 .. "(truncated or not CIFAR-10)"},
        }
        for _, c in ipairs(cases) do
            local imgs, err, st = read_paths{c[1]}
            assert.is_nil(imgs)
            assert.are.equal(NVP.NVP_STATUS_BAD_FORMAT, st)
            assert.are.equal(c[1] .. ": " .. c[2], err)
        end
        local imgs, err, st = read_paths{dir .. "/nope.bin"}
        assert.is_nil(imgs)
        assert.are.equal(NVP.NVP_STATUS_IO, st)
        assert.are.equal(dir .. "/nope.bin: cannot open: No such file or directory", err)
        imgs, err, st = read_paths{dir}
        assert.are.equal(dir .. ": not a regular file", err)
    end)

    it("refuses gzip streams cut short, with or without a plausible trailer, and extra members", function()
        local gz = gzip(write(dir .. "/cut.bin", records(4, 3)))
        local whole = slurp(gz)
        -- cut: the trailer is gone, so the last 4 bytes are deflate data
        local cut = write(dir .. "/cut-a.bin.gz", whole:sub(1, 5000))
        local imgs, err = read_paths{cut}
        assert.is_nil(imgs)
        assert.are.equal(cut .. ": ", err:sub(1, #cut + 2))
        assert.is_nil(err:find("\n"))
        -- cut in the middle but the real trailer (CRC, ISIZE) put back: the stream itself ends early
        local spliced = write(dir .. "/cut-b.bin.gz", whole:sub(1, 5000) .. whole:sub(-8))
        imgs, err = read_paths{spliced}
        assert.is_nil(imgs)
        assert.are.equal(spliced .. ": truncated: expected 12292 bytes, got ", err:sub(1, #spliced + 39))
        assert.matches("^%d+: unexpected end of file$", err:sub(#spliced + 40))
        -- two gzip members: the trailer of the last one promises one record, the stream holds two
        local one = slurp(gzip(write(dir .. "/one.bin", records(1, 4))))
        local two = write(dir .. "/two.bin.gz", one .. one)
        imgs, err = read_paths{two}
        assert.is_nil(imgs)
        assert.are.equal(two .. ": more data than its length promises after 1 records", err)
        -- a gzip header with nothing after it
        local stub = write(dir .. "/stub.bin.gz", whole:sub(1, 12))
        imgs, err = read_paths{stub}
        assert.are.equal(stub .. ": truncated gzip file (12 bytes)", err)
    end)

    it("checks its arguments", function()
        local raw = ffi.new("nvp_images")
        local labels = ffi.new("uint8_t *[1]")
        local paths = ffi.new("const char *[1]")
        assert.are.equal(NVP.NVP_STATUS_BAD_ARG, NVP.nvp_cifar_read(raw, labels, paths, 0))
        assert.are.equal("nvp_cifar_read: npaths = 0 (expected 1..4096)", ffi.string(NVP.nvp_last_error()))
        assert.are.equal(NVP.NVP_STATUS_BAD_ARG, NVP.nvp_cifar_read(raw, labels, paths, 1))
        assert.are.equal("nvp_cifar_read: paths[0] is NULL", ffi.string(NVP.nvp_last_error()))
        assert.matches("unknown split 'valid' %(valid: train, test, orig4000%)", error_of(cifar10.load, "valid"))
    end)

    it("says where CIFAR-10 is published when it is missing", function()
        local imgs, err = cifar10.load("test", dir .. "/nowhere")
        assert.is_nil(imgs)
        assert.are.equal(dir .. "/nowhere/test_batch.bin.gz: not found; CIFAR-10 (binary version: test_batch.bin, "
            .. "gzip'd or plain) is expected in " .. dir .. "/nowhere; it is published by Alex Krizhevsky, "
            .. "University of Toronto, at https://www.cs.toronto.edu/~kriz/cifar.html", err)
    end)
end)

describe("CIFAR-10 data set", function()
    local root = "../shared/data/cifar10" -- CI: ../shared/data next to the repository

    local function load(split)
        if not io.open(root .. "/README.md") then
            pending("no CIFAR-10 at " .. root)
            return nil
        end
        return assert(cifar10.load(split, root))
    end

    local function class_counts(labels)
        local counts = {}
        for c = 0, 9 do counts[c + 1] = 0 end
        for i = 0, labels.count - 1 do counts[labels.data[i] + 1] = counts[labels.data[i] + 1] + 1 end
        return counts
    end

    it("loads the test batch: 10,000 images, 1,000 per class", function()
        local imgs, labels = load("test")
        if imgs == nil then return end
        assert.are.same({10000, 3, 32, 32}, {imgs.count, imgs.channels, imgs.height, imgs.width})
        assert.are.same({1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}, class_counts(labels))
    end)

    it("loads the 4,000 originals with the published first labels and pixels", function()
        local imgs, labels = load("orig4000")
        if imgs == nil then return end
        assert.are.equal(4000, imgs.count)
        local first = {}
        for i = 0, 19 do first[i + 1] = labels.data[i] end
        assert.are.same({6, 9, 9, 4, 1, 1, 2, 7, 8, 3, 4, 7, 7, 2, 9, 9, 9, 3, 2, 6}, first)
        local ends = {{59, 43, 50, 140, 84, 72}, {154, 126, 105, 139, 142, 144}, {255, 253, 253, 83, 83, 84}}
        for r = 0, 2 do
            local p = imgs.data + r * 3072
            assert.are.same(ends[r + 1], {p[0], p[1], p[2], p[3069], p[3070], p[3071]})
        end
        assert.are.same({396, 366, 420, 384, 422, 393, 414, 385, 407, 413}, class_counts(labels))
    end)

    it("loads the 50,000 training images, 5,000 per class, batch 1 first", function()
        local imgs, labels = load("train")
        if imgs == nil then return end
        assert.are.equal(50000, imgs.count)
        assert.are.same({5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000}, class_counts(labels))
        local _, orig = cifar10.load("orig4000", root)
        assert.are.equal(ffi.string(orig.data, 4000), ffi.string(labels.data, 4000))
    end)
end)
