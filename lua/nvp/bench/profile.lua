-- nvp.bench.profile: where one training step of a reference network goes, per kind of layer
-- (nvp.profile's self times), medians over the timed steps after warm-up. Prints a table (ms and %
-- of the median step) and one JSON line {config, batch, threads, steps, step_ms, kinds = {kind = ms}}.
-- "other" is the step's wall time outside every instrumented call (the step's own Lua glue).
local json = require "nvp.json"
local nffi = require "nvp.ffi"
local profile = require "nvp.profile"
local race = require "nvp.bench.race"

local M = {}

--- o: config, batch, steps, warmup, seed, recompute, clock ("wall" or "cpu"). Returns the JSON record.
function M.run(o)
    local run = race.setup(o)
    local now = race.clock_named(o.clock)
    local prof = profile.instrument(run.model, run.opt, now)
    local per_kind, steps = {}, {}
    local kinds = {}
    for _, k in ipairs(profile.KINDS) do
        kinds[#kinds + 1] = k
        per_kind[k] = {}
    end
    kinds[#kinds + 1] = "other"
    per_kind.other = {}
    for i = 1, o.warmup + o.steps do
        prof:reset()
        local t0 = now()
        race.train_step(run)
        local dt = now() - t0
        io.stderr:write(("profile step %d: %.3f s\n"):format(i - 1, dt))
        if i > o.warmup then
            local ms, inside = prof:totals(), 0
            for _, k in ipairs(profile.KINDS) do
                per_kind[k][#per_kind[k] + 1] = ms[k]
                inside = inside + ms[k]
            end
            per_kind.other[#per_kind.other + 1] = dt * 1e3 - inside
            steps[#steps + 1] = dt * 1e3
        end
    end
    local step_ms = race.median(steps)
    print(("nvp bench profile: %s, batch %d, %d threads, %s clock, median of %d steps after %d warm-up: %.1f ms/step")
        :format(o.config, o.batch, nffi.C.nvp_get_threads(), o.clock or "wall", o.steps, o.warmup, step_ms))
    print(("%-12s %10s %7s"):format("kind", "ms", "%"))
    local record = {config = o.config, batch = o.batch, threads = nffi.C.nvp_get_threads(), steps = o.steps,
                    clock = o.clock or "wall",
                    step_ms = math.floor(step_ms * 100 + 0.5) / 100, kinds = {}}
    local sum = 0
    for _, k in ipairs(kinds) do
        local m = race.median(per_kind[k])
        sum = sum + m
        record.kinds[k] = math.floor(m * 100 + 0.5) / 100
        print(("%-12s %10.1f %6.1f%%"):format(k, m, 100 * m / step_ms))
    end
    print(("%-12s %10.1f %6.1f%%  (medians per kind need not add up to the median step exactly)"):format("sum", sum,
        100 * sum / step_ms))
    print(json.encode(record))
    return record
end

return M
