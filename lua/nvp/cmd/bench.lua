-- nvp bench: docs/REFERENCE.md's benchmark and the instruments around it (lua/nvp/bench/):
--   nvp bench [config=fmnist-small|cifar-ref|glow-fmnist batch=64 steps=10 warmup=3 sample_reps=3 threads=N
--              seed=0]
--       one run of the protocol, one JSON line with the peer's keys (nvp.bench.race)
--   nvp bench config=... peer=1 [rounds=2 isa=avx2 python=/usr/bin/python3 peer_script=PATH
--                                latency_script=PATH]
--       ours and torch_realnvp.py (glow-fmnist: experiments/torch_glow.py) alternately with the same
--       settings, every JSON line, then a line of ratios ours/peer (nvp.bench.peer); isa=avx2 keeps both
--       off AVX-512
--   nvp bench config=... profile=1 [steps= warmup= clock=wall|cpu]
--       milliseconds per layer kind of one training step (nvp.bench.profile)
--   nvp bench kernels [config=cifar-ref|fmnist-small (default both) batch=64 reps=5 only=SUBSTR ceiling=N
--                      clock=wall|cpu algorithm=auto|direct|im2col|im2col_batched|winograd|winograd_f2|
--                      winograd_f4|winograd_f7|winograd_f8 cpu_path=scalar|avx2|avx512]
--       every conv shape of the networks, three passes, GFLOP/s beside sgemm (nvp.bench.kernels)
-- clock=cpu times by process CPU time: with threads=1 it stays usable on a host other jobs share.
-- recompute=0|1 and refresh=auto|K are passed to our model (nvp.flow: recompute-by-inverse, or the K
-- largest couplings re-running their s/t network in backward instead of storing it; default auto).
local cli = require "nvp.cli"
local json = require "nvp.json"
local nffi = require "nvp.ffi"
local flow = require "nvp.flow"
local race = require "nvp.bench.race"

local M = {}

M.summary = "benchmarks: nvp bench [config=fmnist-small|cifar-ref|glow-fmnist peer=1 profile=1] | nvp bench kernels"

local KEYS = {config = "string", batch = "number", steps = "number", warmup = "number", sample_reps = "number",
              threads = "number", seed = "number", peer = "number", rounds = "number", python = "string",
              peer_script = "string", profile = "number", recompute = "number", refresh = "number|string", reps = "number",
              only = "string",
              ceiling = "number", clock = "string", algorithm = "string", cpu_path = "string", isa = "string",
              latency_script = "string"}

-- Switches read as 0/1; true/false are accepted as well.
local SWITCHES = {peer = true, profile = true, recompute = true}

local function switch_words(args)
    local out = {}
    for i, a in ipairs(args) do
        local key, value = a:match("^([%w_]+)=(%a+)$")
        if key and SWITCHES[key] and (value == "true" or value == "false") then
            a = key .. "=" .. (value == "true" and "1" or "0")
        end
        out[i] = a
    end
    return out
end

local function is_switch(o, key)
    local v = o[key]
    if v ~= nil and v ~= 0 and v ~= 1 then cli.usage_error(("bench: '%s' must be 0 or 1"):format(key)) end
    return v == 1
end

local function positive_int(o, key, default, min)
    local v = o[key] or default
    if v < min or v ~= math.floor(v) then
        cli.usage_error(("bench: '%s' must be an integer >= %d, got %s"):format(key, min, tostring(v)))
    end
    return v
end

-- refresh=auto|K: nil when not given (the model's default, "auto").
local function refresh_of(o)
    local v = o.refresh
    if v == nil or v == "auto" then return v end
    local k = tonumber(v)
    if type(v) ~= "number" or k < 0 or k ~= math.floor(k) then
        cli.usage_error(("bench: 'refresh' must be auto or an integer >= 0, got %s"):format(v))
    end
    return k
end

local function config_name(name)
    if race.CONFIGS[name] == nil then
        cli.usage_error(("bench: unknown config '%s' (valid: %s)"):format(tostring(name), race.CONFIG_NAMES))
    end
    return name
end

local function check_clock(o)
    if o.clock ~= nil and o.clock ~= "wall" and o.clock ~= "cpu" then
        cli.usage_error(("bench: unknown clock '%s' (valid: wall, cpu)"):format(o.clock))
    end
end

local function kernels(o)
    for _, key in ipairs{"steps", "warmup", "sample_reps", "peer", "rounds", "python", "peer_script", "profile",
                         "recompute", "refresh"} do
        if o[key] ~= nil then cli.usage_error(("bench kernels: '%s' is not a kernels option"):format(key)) end
    end
    local configs = o.config and {config_name(o.config)} or {"fmnist-small", "cifar-ref"}
    if race.CONFIGS[configs[1]].recipe then
        cli.usage_error(("bench kernels: config=%s is a recipe's network; kernels lists Real NVP's conv shapes "
            .. "(fmnist-small, cifar-ref)"):format(configs[1]))
    end
    check_clock(o)
    return require("nvp.bench.kernels").run{configs = configs, batch = positive_int(o, "batch", 64, 1),
        reps = positive_int(o, "reps", 5, 1), only = o.only, clock = o.clock, algorithm = o.algorithm,
        cpu_path = o.cpu_path, ceiling = o.ceiling and {positive_int(o, "ceiling", 0, 16)} or {2048, 4096}}
end

function M.run(args)
    local positional, o = cli.verb_args("bench", switch_words(args), KEYS)
    if #positional == 1 and positional[1] == "kernels" then
        if o.threads then nffi.check(nffi.C.nvp_set_threads(positive_int(o, "threads", 1, 1))) end
        kernels(o)
        return 0
    end
    if #positional > 0 then
        cli.usage_error(("bench: unknown word '%s' (bench takes key=value options, or 'kernels')"):format(positional[1]))
    end
    for _, key in ipairs{"reps", "only", "ceiling", "algorithm", "cpu_path"} do
        if o[key] ~= nil then cli.usage_error(("bench: '%s' is an option of 'nvp bench kernels'"):format(key)) end
    end
    local peer, profile = is_switch(o, "peer"), is_switch(o, "profile")
    if peer and profile then cli.usage_error("bench: choose one of peer=1 and profile=1") end
    check_clock(o)
    if o.clock ~= nil and not profile then cli.usage_error("bench: 'clock' is an option of profile=1 and kernels") end
    if not peer then
        for _, key in ipairs{"rounds", "python", "peer_script", "isa", "latency_script"} do
            if o[key] ~= nil then cli.usage_error(("bench: '%s' needs peer=1"):format(key)) end
        end
    end
    local recompute
    if o.recompute ~= nil then
        is_switch(o, "recompute")
        if flow.DEFAULTS.recompute == nil then
            cli.usage_error("bench: this model has no 'recompute' option")
        end
        recompute = o.recompute == 1
    end
    local run = {config = config_name(o.config or "fmnist-small"), batch = positive_int(o, "batch", 64, 2),
                 steps = positive_int(o, "steps", 10, 1), warmup = positive_int(o, "warmup", 3, 0),
                 sample_reps = positive_int(o, "sample_reps", 3, 1), seed = positive_int(o, "seed", 0, 0),
                 recompute = recompute, clock = o.clock,
                 refresh = refresh_of(o)}
    if o.threads then nffi.check(nffi.C.nvp_set_threads(positive_int(o, "threads", 1, 1))) end
    run.threads = nffi.C.nvp_get_threads()
    if peer then
        if o.isa ~= nil and o.isa ~= "avx2" then
            cli.usage_error(("bench: isa=%s; the one restriction raced is isa=avx2"):format(o.isa))
        end
        if o.isa == "avx2" and nffi.C.nvp_cpu_supports("avx2") == 0 then
            cli.usage_error("bench: isa=avx2, but this CPU has no AVX2")
        end
        run.isa, run.latency_script = o.isa, o.latency_script
        run.rounds = positive_int(o, "rounds", 2, 1)
        run.python = o.python or require("nvp.bench.peer").DEFAULT_PYTHON
        local peer_mod, own_script = require("nvp.bench.peer"), race.CONFIGS[run.config].peer_script
        run.peer_script = o.peer_script or (own_script and peer_mod.from_root(own_script) or peer_mod.DEFAULT_SCRIPT)
        require("nvp.bench.peer").run(run)
    elseif profile then
        require("nvp.bench.profile").run(run)
    else
        print(json.encode(race.run(run)))
    end
    return 0
end

return M
