-- Folder listing (nvp.data.folder): recursive, sorted by relative path, image extensions only
-- (case-insensitive), hidden entries skipped; a missing folder is an error naming it.
local lfs = require "lfs"
local folder = require "nvp.data.folder"

local function touch(path)
    local f = assert(io.open(path, "wb"))
    f:write("x")
    f:close()
end

describe("folder.list", function()
    it("lists image files recursively in byte order of their relative paths", function()
        local root = tmpdir()
        assert(lfs.mkdir(root .. "/b"))
        assert(lfs.mkdir(root .. "/a"))
        assert(lfs.mkdir(root .. "/.hidden"))
        for _, name in ipairs{"z.png", "a/2.JPG", "a/10.jpeg", "b/x.webp", "a0.png", "notes.txt", ".dot.png",
                              ".hidden/h.png", "b/y.gif"} do
            touch(root .. "/" .. name)
        end
        local files = assert(folder.list(root))
        local names = {}
        for i, f in ipairs(files) do
            names[i] = f.name
            assert.are.equal(root .. "/" .. f.name, f.path)
            assert.are.equal(1, f.size)
        end
        assert.are.same({"a/10.jpeg", "a/2.JPG", "a0.png", "b/x.webp", "z.png"}, names)
    end)

    it("names a missing folder", function()
        local files, err = folder.list("/nonexistent/nvp/x")
        assert.is_nil(files)
        assert.are.equal("/nonexistent/nvp/x: not a directory", err)
    end)
end)
