-- experiments/results_page.lua: what the benchmark scripts share for their pages in experiments/results/.
--   local page = dofile("experiments/results_page.lua")
--   page.cpu_model()                                  -- "AMD EPYC, 2 logical CPUs"
--   page.replace_section("experiments/results/x.md", "x_bench", lines)   -- between <!-- x_bench: begin/end -->
local M = {}

--- The CPU's model name and logical CPU count, from /proc/cpuinfo.
function M.cpu_model()
    local f = io.open("/proc/cpuinfo")
    if not f then return "unknown" end
    local text = f:read("*a")
    f:close()
    local cores = select(2, text:gsub("\nprocessor", "")) + (text:match("^processor") and 1 or 0)
    return ("%s, %d logical CPUs"):format(text:match("model name%s*:%s*([^\n]+)") or "unknown", cores)
end

--- Replace the text between "<!-- name: begin -->" and "<!-- name: end -->" in the page at path with
-- lines (a list of strings); the rest of the page is written by hand. A missing page is made.
function M.replace_section(path, name, lines)
    local begin_mark, end_mark = ("<!-- %s: begin -->"):format(name), ("<!-- %s: end -->"):format(name)
    local f = io.open(path)
    local page = f and f:read("*a") or ("# Compression\n\n" .. begin_mark .. "\n" .. end_mark .. "\n")
    if f then f:close() end
    local a, b = page:find(begin_mark, 1, true), page:find(end_mark, 1, true)
    if not a or not b then error(path .. ": no " .. begin_mark .. " ... " .. end_mark .. " markers") end
    page = page:sub(1, a - 1) .. begin_mark .. "\n" .. table.concat(lines, "\n") .. "\n" .. page:sub(b)
    f = assert(io.open(path, "w"))
    f:write(page)
    f:close()
end

return M
