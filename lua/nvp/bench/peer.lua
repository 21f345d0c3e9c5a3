-- nvp.bench.peer: ours against the PyTorch peer (docs/REFERENCE.md's torch_realnvp.py), side by side.
-- Each round runs ours, then the peer, each as a fresh process with the same settings (config,
-- batch, steps, warm-up, threads, sampling batches, seed), alternating so that host noise hits both
-- alike (rounds = 2: ours, peer, ours, peer). Every run's JSON line is printed as it comes; the last
-- line gives ours/peer for training and sampling throughput, peak RSS and batch-1 latency (sample and
-- encode one image; the peer's by experiments/torch_latency.py after each of its runs), each a ratio of
-- the medians over rounds, with the host's 1-minute load average before and after (other jobs' share).
-- isa = "avx2" restricts both to AVX2: ours with NVP_NO_AVX512=1, the peer with ATEN_CPU_CAPABILITY=avx2
-- and ONEDNN_MAX_CPU_ISA=AVX2, each checked in the run's output (cpu_path, "CPU capability usage").
local ffi = require "ffi"
local json = require "nvp.json"
local race = require "nvp.bench.race"

local M = {}

M.DEFAULT_PYTHON = "/usr/bin/python3" -- Debian's interpreter (python3-torch), not a pyenv shim
M.SCRIPT_IN_CHECKOUT = "../shared/bench/torch_realnvp.py" -- relative to the repository root
M.INSTALL = "apt-get install -y python3-torch python3-numpy"
M.LATENCY_SCRIPT = "experiments/torch_latency.py" -- relative to the repository root
-- (ours: NVP_FORCE_SCALAR cleared too: isa=avx2 races the AVX2 path, whatever the caller's environment)
M.ISA_ENV = {avx2 = {ours = "NVP_FORCE_SCALAR= NVP_NO_AVX512=1 ", peer = "ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 "}}

pcall(ffi.cdef, [[
int getpid(void);
long readlink(const char *path, char *buf, size_t size);
int access(const char *path, int mode);
]])

--- The repository root: the folder above the Lua library the host runs (NVP_LUA_DIR, set by
-- engine/src/host/main.c), else above the folder `require` finds nvp/ in; "." when neither is known.
function M.repo_root()
    local lua_dir = rawget(_G, "NVP_LUA_DIR")
    if not lua_dir then
        local path = package.searchpath("nvp.bench.peer", package.path)
        lua_dir = path and path:match("^(.*)/nvp/bench/peer%.lua$")
    end
    if not lua_dir then return "." end
    local root = lua_dir:match("^(.*)/[^/]+/?$") or "."
    return root == "" and "/" or root
end

--- `rel` (a path relative to the repository root) resolved against it, with "x/.." folded.
function M.from_root(rel)
    local parts = {}
    for part in (M.repo_root() .. "/" .. rel):gmatch("[^/]+") do
        if part == ".." and #parts > 0 and parts[#parts] ~= ".." then
            parts[#parts] = nil
        elseif part ~= "." then
            parts[#parts + 1] = part
        end
    end
    local absolute = M.repo_root():sub(1, 1) == "/"
    return (absolute and "/" or "") .. table.concat(parts, "/")
end

-- The default peer script: ../shared/bench/torch_realnvp.py beside the checkout.
M.DEFAULT_SCRIPT = M.from_root(M.SCRIPT_IN_CHECKOUT)

local function quote(s)
    return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- The 1-minute load average (other jobs on the host), or nil where /proc is missing.
local function load_average()
    local f = io.open("/proc/loadavg", "r")
    if not f then return nil end
    local v = tonumber((f:read("*l") or ""):match("^(%S+)"))
    f:close()
    return v
end

-- The CPU the race ran on, as a result quotes it: /proc/cpuinfo's model name, with family and model
-- (a VM may show only "AMD EPYC"), or nil where there is no /proc/cpuinfo.
function M.host_cpu()
    local f = io.open("/proc/cpuinfo", "r")
    if not f then return nil end
    local fields = {}
    for line in f:lines() do
        if line == "" then break end -- the first processor's block
        local key, value = line:match("^([^\t:]-)%s*:%s*(.-)%s*$")
        if key then fields[key] = value end
    end
    f:close()
    local name = fields["model name"]
    if name == nil then return nil end
    if fields["cpu family"] and fields["model"] then
        name = ("%s (family %s, model %s)"):format(name, fields["cpu family"], fields["model"])
    end
    return name
end

local function own_exe()
    local buf = ffi.new("char[4096]")
    local n = ffi.C.readlink("/proc/self/exe", buf, 4095)
    if n <= 0 then error("bench: cannot find the nvp executable (/proc/self/exe)", 0) end
    return ffi.string(buf, n)
end

-- The text of a run's stderr log, and its last non-blank line.
local function read_log(path)
    local f = io.open(path, "r")
    if not f then return "", "" end
    local text = f:read("*a")
    f:close()
    local last = ""
    for line in text:gmatch("[^\n]+") do
        if line:match("%S") then last = line end
    end
    return text, last
end

-- Run `cmd` (stderr to a log file, copied to ours when it ends); returns the decoded last JSON line
-- of its stdout, or raises one line naming `who`, the exit status and the last line of its stderr.
local function run_json(who, cmd, hint)
    local log = os.tmpname()
    local p = io.popen(cmd .. " 2>" .. quote(log) .. "; echo \"nvp-bench-exit=$?\"")
    local out = p:read("*a")
    p:close()
    local status = tonumber(out:match("nvp%-bench%-exit=(%d+)")) or -1
    local line
    for l in out:gmatch("[^\n]+") do
        if l:sub(1, 1) == "{" then line = l end
    end
    local text, why = read_log(log)
    os.remove(log)
    local ok, record = pcall(json.decode, line or "")
    if status ~= 0 or not ok or type(record) ~= "table" then
        error(("bench: %s failed (exit %d): %s%s"):format(who, status, why ~= "" and why or "no JSON line on stdout",
            hint or ""), 0)
    end
    io.stderr:write(text)                      -- its step times, after the fact
    return record, line
end

--- o: config, batch, steps, warmup, sample_reps, threads, seed, rounds, python, peer_script,
-- latency_script, isa (nil or "avx2"), recompute, refresh (ours only). Prints every run's JSON line, then the ratio line; returns the ratio record.
function M.run(o)
    if ffi.C.access(o.python, 1) ~= 0 then
        error(("bench: peer=1 needs Python with PyTorch at '%s' (%s, or set python=PATH)"):format(o.python,
            M.INSTALL), 0)
    end
    if ffi.C.access(o.peer_script, 4) ~= 0 then
        error(("bench: cannot read the peer script '%s' (peer_script=PATH; default %s beside the checkout)"):format(
            o.peer_script, M.SCRIPT_IN_CHECKOUT), 0)
    end
    local env = o.isa and M.ISA_ENV[o.isa] or {ours = "", peer = ""}
    local ours_cmd = env.ours .. ("%s bench config=%s batch=%d steps=%d warmup=%d sample_reps=%d threads=%d seed=%d%s"):format(
        quote(own_exe()), o.config, o.batch, o.steps, o.warmup, o.sample_reps, o.threads, o.seed,
        (o.recompute ~= nil and (" recompute=" .. tostring(o.recompute)) or "")
        .. (o.refresh ~= nil and (" refresh=" .. o.refresh) or ""))
    local peer_cmd = env.peer .. ("%s %s --config %s --batch %d --steps %d --warmup %d --sample-reps %d --threads %d "
        .. "--seed %d"):format(quote(o.python), quote(o.peer_script), o.config, o.batch, o.steps, o.warmup,
        o.sample_reps, o.threads, o.seed)
    local latency_script = o.latency_script or M.from_root(M.LATENCY_SCRIPT)
    local latency_cmd = env.peer .. ("%s %s --script %s --config %s --threads %d --reps %d --seed %d"):format(
        quote(o.python), quote(latency_script), quote(o.peer_script), o.config, o.threads, o.sample_reps, o.seed)
    local hint = (" (the peer needs %s; %s)"):format(o.python, M.INSTALL)
    local runs = {ours = {}, peer = {}}
    local load_start = load_average()
    for round = 1, o.rounds do
        for _, who in ipairs{"ours", "peer"} do
            io.stderr:write(("bench: round %d/%d, %s ...\n"):format(round, o.rounds, who))
            local record, line = run_json(who == "ours" and "our run" or "the peer", who == "ours" and ours_cmd or peer_cmd,
                who == "peer" and hint or nil)
            if who == "peer" then -- its batch-1 latency, measured apart (the peer script has no such step)
                local latency = run_json("the peer's latency run", latency_cmd, hint)
                for k, v in pairs(latency) do record[k] = v end
                line = json.encode(record)
            end
            if o.isa == "avx2" then
                local took = who == "ours" and record.cpu_path or record.cpu_capability
                if took ~= "avx2" and took ~= "AVX2" then
                    error(("bench: isa=avx2, but %s ran on %s"):format(who == "ours" and "ours" or "the peer",
                        tostring(took)), 0)
                end
            end
            runs[who][#runs[who] + 1] = record
            print(line)
            io.stdout:flush()
        end
    end
    local function med(who, key)
        local v = {}
        for i, r in ipairs(runs[who]) do
            if type(r[key]) ~= "number" then
                error(("bench: %s's JSON line has no number '%s'"):format(who, key), 0)
            end
            v[i] = r[key]
        end
        return race.median(v)
    end
    local ratio = {ratio = "ours/peer", config = o.config, batch = o.batch, threads = o.threads, rounds = o.rounds,
                   isa = o.isa, loadavg_start = load_start, loadavg_end = load_average(), cpu = M.host_cpu(),
                   finished_utc = os.date("!%Y-%m-%d %H:%M")}
    for _, key in ipairs{"train_img_per_s", "sample_img_per_s", "peak_rss_mb", "sample1_ms", "encode1_ms"} do
        local ours, peer = med("ours", key), med("peer", key)
        ratio[key] = math.floor(ours / peer * 1000 + 0.5) / 1000
    end
    print(json.encode(ratio))
    return ratio
end

return M
