-- The repository works from any checkout: no tracked file (vendor/ aside) names a path of one
-- machine's file system, and the PyTorch peer's script defaults to a path beside the checkout.
local peer = require "nvp.bench.peer"

-- Written in pieces so that this file does not match itself.
local FORBIDDEN = {"/" .. "work/", "/" .. "root/", "/" .. "home/"}

local function tracked_files()
    local p = io.popen("git ls-files 2>/dev/null")
    local files = {}
    for line in p:lines() do
        if not line:match("^vendor/") then files[#files + 1] = line end
    end
    p:close()
    return files
end

describe("the repository", function()
    it("names no absolute path of one machine (under work, root or home) in a tracked file", function()
        local files = tracked_files()
        if #files == 0 then
            pending("not a git checkout (git ls-files lists nothing)")
            return
        end
        local hits = {}
        for _, path in ipairs(files) do
            local f = io.open(path, "rb")
            local text = f and f:read("*a") or ""
            if f then f:close() end
            if not text:find("\0", 1, true) then          -- text files only
                local n = 0
                for line in (text .. "\n"):gmatch("([^\n]*)\n") do
                    n = n + 1
                    for _, bad in ipairs(FORBIDDEN) do
                        if line:find(bad, 1, true) then
                            hits[#hits + 1] = ("%s:%d: %s"):format(path, n, line:sub(1, 100))
                            break
                        end
                    end
                end
            end
        end
        assert(#hits == 0, "absolute paths in tracked files:\n" .. table.concat(hits, "\n"))
    end)
end)

describe("nvp.bench.peer", function()
    it("resolves the default peer script beside the checkout (../shared/bench)", function()
        local root = peer.repo_root()
        local f = io.open(root .. "/lua/nvp/bench/peer.lua", "r")
        assert.is_not_nil(f, "repo_root() " .. root .. " has no lua/nvp/bench/peer.lua")
        f:close()
        local parent = root:match("^(.*)/[^/]+$")
        assert.are.equal(parent .. "/shared/bench/torch_realnvp.py", peer.DEFAULT_SCRIPT)
        assert.are.equal(root .. "/docs", peer.from_root("x/../docs/."))
    end)

    it("refuses a missing peer script with one line naming it, before running anything", function()
        local p = io.popen(("%s bench config=fmnist-small peer=1 python=/bin/sh peer_script=no/such/peer.py 2>&1; "
            .. "echo \"rc=$?\""):format(nvp_exe()))
        local out = p:read("*a")
        p:close()
        assert.are.equal("bench: cannot read the peer script 'no/such/peer.py' (peer_script=PATH; default "
            .. "../shared/bench/torch_realnvp.py beside the checkout)\nrc=1\n", out)
    end)
end)
