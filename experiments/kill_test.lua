-- experiments/kill_test.lua: crash safety, proven by killing. Trains a tiny model that checkpoints
-- after every step, SIGKILLs it at random moments (many land inside a checkpoint write), and after
-- each kill checks that the newest checkpoint loads and that the next start resumes from it. At the
-- end, the run that was killed `kills` times is finished and compared, tensor by tensor and bit for
-- bit, with a run of the same length that was never interrupted.
--
--   build/nvp experiments/kill_test.lua [kills=50] [seed=1] [max_delay=1.5] [dir=PATH]
--
-- Prints one summary line and exits 0, or fails with one line naming the kill that broke something.
-- spec/reliability/kill_spec.lua runs it with a few kills; the 50-kill result is in
-- experiments/results/reliability.md.
local ffi = require "ffi"
local lfs = require "lfs"
local run = require "nvp.run"
local fs = require "nvp.fs"
local Rng = require "nvp.rng"
local now = require "nvp.clock"

pcall(ffi.cdef, [[
int kill(int pid, int sig);
int usleep(unsigned int usec);
]])
local SIGKILL = 9

local opts = ... or {}
local kills = opts.kills or 50
local max_delay = opts.max_delay or 1.5
local script_dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local fixture = dofile(script_dir .. "/../spec/reliability/fixture.lua")

local dir = opts.dir
if dir == nil then
    dir = os.tmpname()
    os.remove(dir)
end
assert(fs.mkdir_p(dir))
fixture.write_dataset(dir)
local recipe = fixture.write_recipe(dir .. "/rel.lua")
local exe = fixture.nvp_exe()
local killed_dir, straight_dir = dir .. "/killed", dir .. "/straight"
os.execute("rm -rf " .. killed_dir .. " " .. straight_dir)

local function train_cmd(run_dir, steps, log)
    return ("%s train %s data.root=%s run.dir=%s train.steps=%d > %s 2>&1"):format(exe, recipe, dir, run_dir,
        steps, log)
end

local function alive(pid)
    local stat = fs.read("/proc/" .. pid .. "/stat")
    return stat ~= nil and not stat:match("^%d+ %b() Z")
end

-- The number of checkpoint temporaries in run_dir (of process pid only, if given).
local function temporaries(run_dir, pid)
    local n = 0
    if fs.is_dir(run_dir) then
        for name in lfs.dir(run_dir) do
            local owner = name:match("%.tmp%.(%d+)%.%d+$")
            if owner and (pid == nil or owner == pid) then n = n + 1 end
        end
    end
    return n
end

local seed = opts.seed or 1
local function fail(i, fmt, ...)
    error(("kill_test: kill %d (seed=%d): " .. fmt .. " (logs in %s)"):format(i, seed, ...), 0)
end

local rng = Rng.new(seed)
local last_step, mid_write, resumes, no_checkpoint = -1, 0, 0, 0
local started = now()
for i = 1, kills do
    local log = ("%s/kill-%02d.log"):format(dir, i)
    local pid = assert(io.popen(train_cmd(killed_dir, 1000000, log) .. " & echo $!")):read("*l")
    -- one kill in ten lands during start-up (loading the data, reading the checkpoint), the others
    -- at a random moment of training, once the run has printed its first line
    local delay
    if rng:random() < 0.1 then
        delay = rng:random() * 0.5
    else
        while (fs.read(log) or "") == "" and alive(pid) do ffi.C.usleep(5000) end
        delay = rng:random() * max_delay
    end
    ffi.C.usleep(math.floor(delay * 1e6))
    if not alive(pid) then   -- it cannot finish a million steps: it failed by itself
        fail(i, "the run stopped before the kill: %s", ((fs.read(log) or ""):gsub("\n", " | ")), dir)
    end
    ffi.C.kill(tonumber(pid), SIGKILL)
    while alive(pid) do ffi.C.usleep(10000) end

    -- this start resumed from the checkpoint the previous kill left (if it got that far)
    local text = fs.read(log) or ""
    local resumed = tonumber(text:match("resuming .- at step (%d+)"))
    if resumed then
        if resumed ~= last_step then fail(i, "resumed at step %d, the checkpoint held %d", resumed, last_step, dir) end
        resumes = resumes + 1
    end
    if temporaries(killed_dir, pid) > 0 then mid_write = mid_write + 1 end

    local path = killed_dir .. "/last.safetensors"
    if fs.exists(path) then
        local ck, err = run.open(path)
        if ck == nil then fail(i, "the newest checkpoint does not load: %s", err, dir) end
        local step = tonumber(ck.meta["nvp.step"])
        if step < last_step then fail(i, "checkpoint went back from step %d to %d", last_step, step, dir) end
        last_step = step
    elseif last_step >= 0 then
        fail(i, "the checkpoint of step %d disappeared", last_step, dir)
    else
        no_checkpoint = no_checkpoint + 1
    end
end

-- Finish the killed run a few steps on, then train the same number of steps without interruption.
local final = math.max(last_step, 0) + 5
local code, out = fixture.run(train_cmd(killed_dir, final, dir .. "/final.log") .. "; cat " .. dir .. "/final.log")
if code ~= 0 then error("kill_test: the final resume failed: " .. out:gsub("\n", " | "), 0) end
if last_step >= 0 and not out:find(("at step %d\n"):format(last_step), 1, true) then
    error(("kill_test: the final run did not resume at step %d"):format(last_step), 0)
end
code, out = fixture.run(train_cmd(straight_dir, final, dir .. "/straight.log") .. "; cat " .. dir .. "/straight.log")
if code ~= 0 then error("kill_test: the uninterrupted run failed: " .. out:gsub("\n", " | "), 0) end
-- the temporaries the kills left were removed by the saves after them
if temporaries(killed_dir) > 0 then
    error(("kill_test: %d temporary files left in %s after the final run"):format(temporaries(killed_dir), killed_dir), 0)
end
local a = assert(run.open(killed_dir .. "/last.safetensors"))
local b = assert(run.open(straight_dir .. "/last.safetensors"))
local differing, count = {}, 0
for name, t in pairs(b.tensors) do
    count = count + 1
    local u = a.tensors[name]
    if u == nil or ffi.string(u.data, 4 * u.numel) ~= ffi.string(t.data, 4 * t.numel) then
        differing[#differing + 1] = name
    end
end
if #differing > 0 then
    table.sort(differing)
    error(("kill_test: seed %d: after %d kills, %d of %d tensors differ from the uninterrupted run at step %d: %s"):format(
        seed, kills, #differing, count, final, table.concat(differing, ", ", 1, math.min(5, #differing))), 0)
end
print(("kill_test: seed %d, %d kills (%d inside a checkpoint write, %d before the first checkpoint), %d resumes, "
    .. "0 unreadable checkpoints; reached step %d; finished at step %d bit-identical (%d tensors) to an "
    .. "uninterrupted run; %.0f s"):format(seed, kills, mid_write, no_checkpoint, resumes, last_step, final, count,
    now() - started))
if not opts.dir then os.execute("rm -rf " .. dir) end
