-- nvp.checkpoint: tensors to and from safetensors files (the Hugging Face format, readable by
-- `safetensors`, PyTorch and numpy):
--
--   8 bytes   N, the header length (unsigned 64-bit little-endian)
--   N bytes   JSON {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
--                   "__metadata__": {"key": "string value", ...}}, padded with spaces to a multiple of 8
--   the rest  the tensors' raw little-endian bytes; offsets count from the start of this section
--
--   local checkpoint = require "nvp.checkpoint"
--   assert(checkpoint.save("runs/x/step-1000.safetensors", {["coupling1.w"] = w}, {step = "1000"}))
--   local tensors, metadata = checkpoint.load("runs/x/step-1000.safetensors")  -- or nil, message
--
-- save writes the tensors in sorted name order, atomically (nvp_file_write_atomic: the old file
-- survives any failure). Values are nvp.tensor Tensors (F32) or, for other dtypes, plain tables
-- {dtype = "I64", shape = {...}, data = cdata pointer} (dtypes F32, F64, I32, I64, U8).
-- load checks the whole header before allocating anything: the header length, the JSON, dtypes,
-- shapes against offsets, offsets against the file, overlaps and gaps (the data section must be the
-- tensors back to back, as safetensors writes it) and the metadata's types. Each failure is
-- nil, one line naming the file and the tensor or field. F32 tensors come back as Tensors; other
-- dtypes as {dtype, shape, numel, data} with data a gc'd cdata pointer of the element type.
local ffi = require "ffi"
local nffi = require "nvp.ffi"
local json = require "nvp.json"
local T = require "nvp.tensor"
local C = nffi.C

assert(ffi.abi("le"), "nvp.checkpoint: safetensors is little-endian; this machine is not")

local M = {}

M.MAX_HEADER = 100 * 1024 * 1024
M.DTYPES = {
    F32 = {size = 4, ctype = "float"},
    F64 = {size = 8, ctype = "double"},
    I32 = {size = 4, ctype = "int32_t"},
    I64 = {size = 8, ctype = "int64_t"},
    U8 = {size = 1, ctype = "uint8_t"},
}
local MAX_INT = 2 ^ 53 -- exact in a double (and in the JSON numbers that hold offsets)

local function dtype_names()
    local names = {}
    for k in pairs(M.DTYPES) do names[#names + 1] = k end
    table.sort(names)
    return table.concat(names, ", ")
end

local function shape_string(shape)
    return "(" .. table.concat(shape, ",") .. ")"
end

local function sorted_keys(t)
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys)
    return keys
end

local function u64_le(n)
    local b = {}
    for i = 1, 8 do
        b[i] = string.char(n % 256)
        n = math.floor(n / 256)
    end
    return table.concat(b)
end

-- ---- save ---------------------------------------------------------------------------------------

-- {dtype, shape, numel, nbytes, data} for one entry of `tensors`, or raises (misuse).
local function describe_entry(name, v)
    if T.is_tensor(v) then
        return {dtype = "F32", shape = v.shape, numel = v.numel, nbytes = 4 * v.numel, data = v.data}
    end
    if type(v) ~= "table" then
        error(("checkpoint.save: tensor '%s' is a %s, expected an nvp.tensor or {dtype, shape, data}")
            :format(name, type(v)), 3)
    end
    local dt = M.DTYPES[v.dtype]
    if dt == nil then
        error(("checkpoint.save: tensor '%s' has dtype %s (supported: %s)"):format(name, tostring(v.dtype),
            dtype_names()), 3)
    end
    if type(v.shape) ~= "table" or v.data == nil or type(v.data) ~= "cdata" then
        error(("checkpoint.save: tensor '%s' needs a shape table and a cdata pointer data"):format(name), 3)
    end
    local numel = 1
    for i, d in ipairs(v.shape) do
        if type(d) ~= "number" or d < 0 or d ~= math.floor(d) then
            error(("checkpoint.save: tensor '%s': dimension %d of shape %s is not a non-negative integer")
                :format(name, i, shape_string(v.shape)), 3)
        end
        numel = numel * d
    end
    return {dtype = v.dtype, shape = v.shape, numel = numel, nbytes = dt.size * numel, data = v.data}
end

--- Write tensors ({name = Tensor or {dtype, shape, data}}) and metadata ({key = string}) to path,
-- atomically. Returns true, or nil, message when the file cannot be written.
function M.save(path, tensors, metadata)
    if type(path) ~= "string" then error("checkpoint.save: path must be a string", 2) end
    if type(tensors) ~= "table" then error("checkpoint.save: tensors must be a table {name = tensor}", 2) end
    metadata = metadata or {}
    if type(metadata) ~= "table" then error("checkpoint.save: metadata must be a table of strings", 2) end
    local header = {}
    local meta = {}
    for k, v in pairs(metadata) do
        if type(k) ~= "string" or type(v) ~= "string" then
            error(("checkpoint.save: metadata %s = %s: keys and values must be strings (use tostring)")
                :format(tostring(k), tostring(v)), 2)
        end
        meta[k] = v
    end
    if next(meta) ~= nil then header.__metadata__ = meta end
    local entries = {}
    for name in pairs(tensors) do
        if type(name) ~= "string" or name == "" or name == "__metadata__" then
            error(("checkpoint.save: bad tensor name %s (a non-empty string other than __metadata__)")
                :format(tostring(name)), 2)
        end
    end
    local offset = 0
    for i, name in ipairs(sorted_keys(tensors)) do
        local e = describe_entry(name, tensors[name])
        entries[i] = e
        local shape = json.array{}
        for j, d in ipairs(e.shape) do shape[j] = d end
        header[name] = {dtype = e.dtype, shape = shape, data_offsets = json.array{offset, offset + e.nbytes}}
        offset = offset + e.nbytes
    end
    local text = json.encode(header)
    text = text .. (" "):rep((8 - #text % 8) % 8)
    local prefix = u64_le(#text) .. text
    local n = #entries + 1
    local chunks = ffi.new("const void *[?]", n)
    local sizes = ffi.new("int64_t[?]", n)
    chunks[0], sizes[0] = prefix, #prefix
    for i, e in ipairs(entries) do
        chunks[i], sizes[i] = e.data, e.nbytes
    end
    local ok, err = nffi.try(C.nvp_file_write_atomic(path, chunks, sizes, n))
    -- chunks holds bare pointers: use prefix and entries after the call so they outlive it
    if #prefix == 0 or #entries < 0 then error("unreachable") end
    return ok, err
end

-- ---- load ---------------------------------------------------------------------------------------

local function is_uint(x)
    return type(x) == "number" and x >= 0 and x == math.floor(x) and x < MAX_INT
end

-- Check one header entry; returns {name, dtype, shape, numel, begin, finish} or nil, message.
local function check_entry(path, name, v, data_len)
    local function bad(fmt, ...)
        return nil, ("%s: tensor '%s': " .. fmt):format(path, name, ...)
    end
    if type(v) ~= "table" or getmetatable(v) ~= json.object_mt then
        return bad("expected an object {dtype, shape, data_offsets}")
    end
    if type(v.dtype) ~= "string" then return bad("missing or non-string dtype") end
    local dt = M.DTYPES[v.dtype]
    if dt == nil then return bad("unknown dtype '%s' (supported: %s)", v.dtype, dtype_names()) end
    if getmetatable(v.shape) ~= json.array_mt then return bad("missing shape (an array of sizes)") end
    local shape, numel = {}, 1
    for i, d in ipairs(v.shape) do
        if not is_uint(d) then return bad("shape entry %d is %s, not a size", i, json.encode(d)) end
        shape[i] = d
        numel = numel * d
        if numel >= MAX_INT then return bad("shape %s is absurd", json.encode(v.shape)) end
    end
    if #shape == 0 then return bad("rank-0 (scalar) tensors are not supported") end
    local off = v.data_offsets
    if getmetatable(off) ~= json.array_mt or #off ~= 2 or not is_uint(off[1]) or not is_uint(off[2]) or
        off[1] > off[2] then
        return bad("data_offsets %s are not [begin, end] with 0 <= begin <= end",
            off == nil and "missing" or json.encode(off))
    end
    if off[2] - off[1] ~= dt.size * numel then
        return bad("data_offsets [%d, %d] hold %d bytes but %s %s needs %d", off[1], off[2], off[2] - off[1],
            v.dtype, shape_string(shape), dt.size * numel)
    end
    if off[2] > data_len then
        return bad("data_offsets [%d, %d] go past the end of the data section (%d bytes; truncated?)",
            off[1], off[2], data_len)
    end
    return {name = name, dtype = v.dtype, shape = shape, numel = numel, begin = off[1], finish = off[2]}
end

-- Read and check the header: entries sorted by offset and the metadata, or nil, message.
local function read_header(path)
    local size = ffi.new("int64_t[1]")
    local ok, err = nffi.try(C.nvp_file_size(size, path))
    if not ok then return nil, err end
    local file_size = tonumber(size[0])
    if file_size < 8 then
        return nil, ("%s: truncated: %d bytes, too short for the 8-byte header length"):format(path, file_size)
    end
    local len_buf = ffi.new("uint64_t[1]")
    ok, err = nffi.try(C.nvp_file_read_at(len_buf, path, 0, 8))
    if not ok then return nil, err end
    local n = len_buf[0]
    if n > M.MAX_HEADER then
        return nil, ("%s: header length %s is absurd (more than %d bytes)"):format(path,
            tostring(n):gsub("ULL$", ""), M.MAX_HEADER)
    end
    n = tonumber(n)
    if n > file_size - 8 then
        return nil, ("%s: header length %d is past the end of the file (%d bytes; truncated?)"):format(path, n,
            file_size)
    end
    local buf = ffi.new("char[?]", math.max(n, 1))
    ok, err = nffi.try(C.nvp_file_read_at(buf, path, 8, n))
    if not ok then return nil, err end
    local header
    header, err = json.decode(ffi.string(buf, n))
    if header == nil then
        return nil, ("%s: header is not valid JSON: %s"):format(path, (err:gsub("^json: ", "")))
    end
    if getmetatable(header) ~= json.object_mt then return nil, ("%s: header is not a JSON object"):format(path) end
    local data_len = file_size - 8 - n
    local metadata = {}
    local entries = {}
    for _, name in ipairs(sorted_keys(header)) do
        local v = header[name]
        if name == "__metadata__" then
            if getmetatable(v) ~= json.object_mt then
                return nil, ("%s: __metadata__ is not an object of strings"):format(path)
            end
            for _, k in ipairs(sorted_keys(v)) do
                if type(v[k]) ~= "string" then
                    return nil, ("%s: __metadata__ field '%s' is %s, not a string"):format(path, k, json.encode(v[k]))
                end
                metadata[k] = v[k]
            end
        else
            local e
            e, err = check_entry(path, name, v, data_len)
            if e == nil then return nil, err end
            entries[#entries + 1] = e
        end
    end
    table.sort(entries, function(a, b)
        if a.begin ~= b.begin then return a.begin < b.begin end
        if a.finish ~= b.finish then return a.finish < b.finish end
        return a.name < b.name
    end)
    local at, prev = 0, nil
    for _, e in ipairs(entries) do
        if e.begin < at then
            return nil, ("%s: tensors '%s' and '%s' overlap (bytes [%d, %d) and [%d, %d))"):format(path, prev.name,
                e.name, prev.begin, prev.finish, e.begin, e.finish)
        elseif e.begin > at then
            return nil, ("%s: tensor '%s': gap of %d bytes before its data_offsets [%d, %d]"):format(path, e.name,
                e.begin - at, e.begin, e.finish)
        end
        at, prev = e.finish, e
    end
    if at ~= data_len then
        return nil, ("%s: %d bytes after the last tensor's data (the data section has %d)"):format(path,
            data_len - at, data_len)
    end
    return entries, metadata, 8 + n
end

--- tensors ({name = Tensor or {dtype, shape, numel, data}}), metadata ({key = string}) from path,
-- or nil, message (missing, truncated or malformed file; the message names the file and field).
-- A refusal is one line: names and dtypes from a hostile header may hold control characters
-- ("\n" in a JSON string), shown escaped; and a name may be megabytes long, so the line is cut.
local MAX_MESSAGE = 400
local function one_line(message)
    message = message:gsub("[%z\1-\31\127]", function(c) return ("\\x%02x"):format(c:byte()) end)
    if #message > MAX_MESSAGE then message = message:sub(1, MAX_MESSAGE) .. "..." end
    return message
end

function M.load(path)
    if type(path) ~= "string" then error("checkpoint.load: path must be a string", 2) end
    local entries, metadata, data_start = read_header(path)
    if entries == nil then return nil, one_line(metadata) end
    local tensors = {}
    for _, e in ipairs(entries) do
        local t
        if e.dtype == "F32" then
            t = T.empty(e.shape)
        else
            local ctype = M.DTYPES[e.dtype].ctype
            local raw = C.nvp_alloc(e.finish - e.begin)
            if raw == nil then return nil, ("%s: tensor '%s': %s"):format(path, e.name, nffi.last_error()) end
            t = {dtype = e.dtype, shape = e.shape, numel = e.numel,
                 data = ffi.gc(ffi.cast(ctype .. " *", raw), C.nvp_free)}
        end
        local ok, err = nffi.try(C.nvp_file_read_at(t.data, path, data_start + e.begin, e.finish - e.begin))
        if not ok then return nil, err end
        tensors[e.name] = t
    end
    return tensors, metadata
end

return M
