-- nvp.data.folder: the image files of a folder, recursively, in one deterministic order.
--
--   local files = assert(folder.list("/data/celeba/img_align_celeba"))
--   files[1] --> {path = "/data/.../000001.jpg", name = "000001.jpg", size = 11440}
--
-- Files are kept by extension (.png, .jpg, .jpeg, and .webp: LSUN's `data.py export` writes the JPEG
-- bytes of its LMDB under that name; the decoder goes by content, not name), case-insensitively.
-- Hidden entries (".*") are skipped. The order is the byte order of the relative paths ("a/b.png"
-- before "a0.png"), so two machines list the same folder identically, whatever readdir returns.
local lfs = require "lfs"

local M = {}

M.EXTENSIONS = {png = true, jpg = true, jpeg = true, webp = true}

--- The image files under dir: a sorted list of {path, name (relative to dir), size}, or nil, message.
function M.list(dir, extensions)
    extensions = extensions or M.EXTENSIONS
    if lfs.attributes(dir, "mode") ~= "directory" then
        return nil, ("%s: not a directory"):format(dir)
    end
    local files = {}
    local function walk(abs, rel)
        local ok, iter, state = pcall(lfs.dir, abs)
        if not ok then error(("%s: cannot list: %s"):format(abs, tostring(iter)), 0) end
        for entry in iter, state do
            if entry:sub(1, 1) ~= "." then
                local path, name = abs .. "/" .. entry, rel == "" and entry or rel .. "/" .. entry
                local attr = lfs.attributes(path)
                if attr and attr.mode == "directory" then
                    walk(path, name)
                elseif attr and attr.mode == "file" then
                    local ext = entry:match("%.([^.]+)$")
                    if ext and extensions[ext:lower()] then
                        files[#files + 1] = {path = path, name = name, size = attr.size}
                    end
                end
            end
        end
    end
    local ok, err = pcall(walk, dir, "")
    if not ok then return nil, tostring(err) end
    table.sort(files, function(a, b) return a.name < b.name end)
    return files
end

return M
