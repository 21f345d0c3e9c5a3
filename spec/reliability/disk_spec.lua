-- Disk and permissions: an unwritable run directory or a full disk stops `nvp train` with one line
-- and exit code 1, and the previous checkpoint stays intact (and loads). The session runs as root, so
-- chmod cannot make a directory unwritable: a path under a regular file (ENOTDIR) stands in for it,
-- a file size limit (ulimit -f, SIGXFSZ ignored) for a short write, and a tiny tmpfs, when this
-- machine lets us mount one, for a real ENOSPC.
local lfs = require "lfs"
local fs = require "nvp.fs"
local run = require "nvp.run"
local fixture = dofile("spec/reliability/fixture.lua")

describe("disk and permissions", function()
    local dir, recipe_path
    setup(function()
        dir = tmpdir()
        fixture.write_dataset(dir)
        recipe_path = fixture.write_recipe(dir .. "/rel.lua")
    end)
    teardown(function() os.execute("rm -rf " .. dir) end)

    local function train_cmd(run_dir, steps)
        return ("%s train %s data.root=%s run.dir=%s train.steps=%d"):format(nvp_exe(), recipe_path, dir, run_dir, steps)
    end

    local function temporaries(run_dir)
        local n = 0
        for name in lfs.dir(run_dir) do
            if name:find(".tmp.", 1, true) then n = n + 1 end
        end
        return n
    end

    -- out is one line naming `what`, with exit code 1
    local function assert_refused(code, out, what)
        assert.are.equal(1, code, out)
        assert.is_nil(out:gsub("\n$", ""):find("\n"), out)
        assert.truthy(out:find(what, 1, true), out)
    end

    it("an unwritable run directory: one line, exit 1", function()
        local blocker = dir .. "/a-file"
        assert(fs.write(blocker, "not a directory"))
        local code, out = fixture.run_stderr(train_cmd(blocker .. "/run", 2))
        assert_refused(code, out, blocker .. ": cannot create directory")
    end)

    -- Train 2 steps, then (after `squeeze`, if given) resume under `limit` (a shell prefix): the
    -- first checkpoint write fails.
    local function resume_fails(run_dir, limit, reason, squeeze)
        local code, out = fixture.run(train_cmd(run_dir, 2))
        assert.are.equal(0, code, out)
        if squeeze then squeeze() end
        local last = run_dir .. "/last.safetensors"
        local before = assert(fs.read(last))
        code, out = fixture.run_stderr(limit .. train_cmd(run_dir, 6))
        assert_refused(code, out, last .. ": cannot write: " .. reason)
        assert.are.equal(before, fs.read(last))
        assert.are.equal("2", assert(run.open(last)).meta["nvp.step"])
        assert.are.equal(0, temporaries(run_dir))
    end

    it("a short write (file size limit): one line, exit 1, the previous checkpoint intact", function()
        -- the checkpoint is ~250 KB; the limit leaves room for the recipe and metrics only
        resume_fails(dir .. "/fsize", "trap '' XFSZ; ulimit -f 64; ", "File too large")
    end)

    it("a full disk (ENOSPC on a tiny tmpfs): one line, exit 1, the previous checkpoint intact", function()
        local mnt = dir .. "/tiny"
        assert(lfs.mkdir(mnt))
        if fixture.run(("mount -t tmpfs -o size=2m tmpfs %s"):format(mnt)) ~= 0 then
            pending("cannot mount a tmpfs here (not root or no CAP_SYS_ADMIN)")
            return
        end
        -- after the first run, shrink it to what is used plus 64 KB: no room for the next temporary
        local function squeeze()
            local used = tonumber(io.popen("du -sk " .. mnt):read("*l"):match("^(%d+)"))
            assert(fixture.run(("mount -o remount,size=%dk %s"):format(used + 64, mnt)) == 0)
        end
        local ok, err = pcall(resume_fails, mnt .. "/run", "", "No space left on device", squeeze)
        fixture.run("umount " .. mnt)
        assert(ok, err)
    end)
end)
