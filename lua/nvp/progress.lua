-- nvp.progress: training progress on a terminal (one redrawn line: a bar, step, epoch, images/s,
-- bits/dim, ETA) or, when stdout is not a terminal, plain lines every `every` steps.
local ffi = require "ffi"

ffi.cdef [[ int isatty(int fd); ]]

local M = {}

local Progress = {}
Progress.__index = Progress

function M.is_tty()
    return ffi.C.isatty(1) == 1
end

--- cfg: total_steps (0 = unknown), total_seconds (0 = unknown), every (plain-line interval), tty.
function M.new(cfg)
    local self = setmetatable({}, Progress)
    self.total_steps, self.total_seconds = cfg.total_steps or 0, cfg.total_seconds or 0
    self.every = cfg.every or 50
    self.tty = cfg.tty
    if self.tty == nil then self.tty = M.is_tty() end
    self.drawn = false
    return self
end

local function clock(seconds)
    if seconds == nil or seconds ~= seconds or seconds == math.huge then return "?" end
    seconds = math.floor(seconds + 0.5)
    local h, m, s = math.floor(seconds / 3600), math.floor(seconds / 60) % 60, seconds % 60
    if h > 0 then return ("%d:%02d:%02d"):format(h, m, s) end
    return ("%d:%02d"):format(m, s)
end
M.clock = clock

-- Fraction done and seconds left, from whichever budget (steps or time) ends first.
function Progress:eta(step, elapsed)
    local frac, left = nil, nil
    if self.total_steps > 0 then
        frac = step / self.total_steps
        left = step > 0 and elapsed / step * (self.total_steps - step) or nil
    end
    if self.total_seconds > 0 then
        local f = elapsed / self.total_seconds
        if frac == nil or f > frac then frac, left = f, self.total_seconds - elapsed end
    end
    return frac, left
end

--- s: {step, epoch, img_per_s, bpd, elapsed}
function Progress:update(s)
    local frac, left = self:eta(s.step, s.elapsed)
    if self.tty then
        local width = 24
        local bar = ""
        if frac then
            local filled = math.min(width, math.floor(frac * width + 0.5))
            bar = "[" .. ("#"):rep(filled) .. ("."):rep(width - filled) .. "] "
        end
        io.stdout:write(("\r%sstep %d  epoch %.2f  %.1f img/s  %.3f bits/dim  ETA %s\27[K"):format(bar, s.step,
            s.epoch, s.img_per_s, s.bpd, clock(left)))
        io.stdout:flush()
        self.drawn = true
    elseif s.step % self.every == 0 then
        print(("step %d  epoch %.2f  %.1f img/s  %.3f bits/dim  elapsed %s  ETA %s"):format(s.step, s.epoch,
            s.img_per_s, s.bpd, clock(s.elapsed), clock(left)))
        io.stdout:flush()
    end
end

--- Print a line without breaking the bar.
function Progress:note(line)
    if self.tty and self.drawn then io.stdout:write("\r\27[K") end
    print(line)
    io.stdout:flush()
end

function Progress:finish()
    if self.tty and self.drawn then io.stdout:write("\n") end
    self.drawn = false
end

return M
