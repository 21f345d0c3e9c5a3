-- nvp.fs: the few file-system helpers the library needs (over LuaFileSystem).
local lfs = require "lfs"

local M = {}

function M.exists(path)
    return lfs.attributes(path, "mode") ~= nil
end

function M.is_dir(path)
    return lfs.attributes(path, "mode") == "directory"
end

--- mkdir -p; returns true or nil, message naming the path.
function M.mkdir_p(path)
    if M.is_dir(path) then return true end
    local prefix = path:sub(1, 1) == "/" and "/" or ""
    local so_far = ""
    for part in path:gmatch("[^/]+") do
        so_far = so_far == "" and prefix .. part or so_far .. "/" .. part
        if not M.is_dir(so_far) then
            local ok, err = lfs.mkdir(so_far)
            if not ok and not M.is_dir(so_far) then
                return nil, ("%s: cannot create directory: %s"):format(so_far, err)
            end
        end
    end
    return true
end

--- Whole file as a string, or nil, message.
function M.read(path)
    local f, err = io.open(path, "rb")
    if f == nil then return nil, err end
    local s = f:read("*a")
    f:close()
    return s
end

--- Write a small text file (not atomic: for logs and copies, never checkpoints).
function M.write(path, text)
    local f, err = io.open(path, "wb")
    if f == nil then return nil, err end
    local ok, werr = f:write(text)
    f:close()
    if not ok then return nil, ("%s: %s"):format(path, werr) end
    return true
end

--- Append one line to a file (metrics.jsonl).
function M.append_line(path, line)
    local f, err = io.open(path, "ab")
    if f == nil then return nil, err end
    f:write(line, "\n")
    f:close()
    return true
end

return M
