-- nvp.compress.container: the .nvpz file of nvp compress. Layout (integers little-endian):
--
--   "NVPZ1\n"                 6 bytes, magic and format version
--   L                         u32, the header's length
--   header                    L bytes of JSON: format, engine (nvp_version), cpu_path, threads,
--                             checkpoint (path as given) and checkpoint_fnv (FNV-1a 64 of its bytes,
--                             hex), images, channels, height, width, codec settings (sigma_log2,
--                             delta_log2, res, nbuckets, precision), init_pushes, the rANS message's
--                             words, state (hex), low_words and crc (of its whole serialised form)
--   FNV-1a 64 of the header   16 hex characters
--   the message's words [low_words, words)   4 bytes each
--
-- The words below low_words are the initial bits' (nvp.compress.stream), made again by the decoder;
-- with them, the rANS serialisation (nvp_rans_to_bytes: magic, words, state, the words, CRC-32) is
-- rebuilt and read by nvp_rans_from_bytes, whose CRC then covers every stored word. So a truncated,
-- extended or altered file is refused in one line naming it (header checksum, length, CRC), before
-- anything is decoded.
--
--   local bytes = container.pack(header, msg)               -- header: a table of the fields above
--   local h, err = container.unpack(bytes, path)            -- nil, "path: ..." when refused
--   local msg, err = container.message(h, init_msg, path)   -- the full message again
local json = require "nvp.json"
local pack = require "nvp.data.pack"
local rans = require "nvp.compress.rans"

local M = {}

M.MAGIC = "NVPZ1\n"
M.FORMAT = "nvpz-2" -- 2: a flag after every image (flow or raw, nvp.compress.stream)
local RANS_HEADER = 24 -- "nvprans1", u64 words, u64 state (nvp_rans_to_bytes)

local function u32_le(n)
    return string.char(n % 256, math.floor(n / 256) % 256, math.floor(n / 65536) % 256, math.floor(n / 16777216))
end

local function read_u32(s, i)
    local a, b, c, d = s:byte(i, i + 3)
    return ((d * 256 + c) * 256 + b) * 256 + a
end

-- 16 hex characters -> their u64 as 8 little-endian bytes.
local function u64_le_hex(hex)
    local out = {}
    for i = 1, 8 do out[i] = string.char(tonumber(hex:sub(17 - 2 * i, 18 - 2 * i), 16)) end
    return table.concat(out)
end

local function hex_of_le(s)
    local x = 0ULL
    for i = #s, 1, -1 do x = x * 256 + s:byte(i) end
    return ("%016x"):format(x)
end

--- FNV-1a 64 of a string, as 16 hex characters.
function M.fnv(s)
    return ("%016x"):format(pack.fnv1a(14695981039346656037ULL, s))
end

--- The file's bytes: header (a table; the message's fields are added here) and the message.
function M.pack(header, msg)
    local full = msg:to_bytes()
    local words = msg:words()
    local low = msg:low_words()
    header.format = M.FORMAT
    header.words, header.low_words = words, low
    header.state = hex_of_le(full:sub(17, 24))
    header.crc = read_u32(full, #full - 3)
    local text = json.encode(header)
    local stored = full:sub(RANS_HEADER + 4 * low + 1, #full - 4)
    return table.concat{M.MAGIC, u32_le(#text), text, M.fnv(text), stored}
end

--- The header of a file's bytes, and where its stored words start; nil, "path: why" when refused.
function M.unpack(bytes, path)
    if #bytes < #M.MAGIC + 4 or bytes:sub(1, #M.MAGIC) ~= M.MAGIC then
        return nil, ("%s: not an nvp compressed file (no \"NVPZ1\" magic)"):format(path)
    end
    local len = read_u32(bytes, #M.MAGIC + 1)
    local at = #M.MAGIC + 5
    if at + len + 16 - 1 > #bytes then
        return nil, ("%s: truncated (the header says %d bytes of header, the file has %d in all)"):format(path, len,
            #bytes)
    end
    local text = bytes:sub(at, at + len - 1)
    if bytes:sub(at + len, at + len + 15) ~= M.fnv(text) then
        return nil, ("%s: the header is altered (its FNV-1a checksum does not match)"):format(path)
    end
    local h = json.decode(text)
    if type(h) ~= "table" or h.format ~= M.FORMAT then
        return nil, ("%s: format '%s', this nvp reads '%s'"):format(path, tostring(type(h) == "table" and h.format),
            M.FORMAT)
    end
    local function whole(v) return type(v) == "number" and v >= 0 and v == math.floor(v) and v < 2 ^ 53 end
    for _, k in ipairs{"words", "low_words", "crc", "images", "channels", "height", "width", "init_pushes",
                       "threads"} do
        if not whole(h[k]) then return nil, ("%s: the header's '%s' is not a whole number"):format(path, k) end
    end
    if h.low_words > h.words or type(h.codec) ~= "table" then
        return nil, ("%s: the header's low_words or codec is malformed"):format(path)
    end
    for _, k in ipairs{"sigma_log2", "delta_log2", "res", "nbuckets", "precision"} do
        if not whole(h.codec[k]) then
            return nil, ("%s: the header's codec.%s is not a whole number"):format(path, k)
        end
    end
    local start = at + len + 16
    local want = 4 * (h.words - h.low_words)
    if #bytes - start + 1 ~= want then
        return nil, ("%s: %s (the stream should be %d bytes, the file holds %d)"):format(path,
            #bytes - start + 1 < want and "truncated" or "has trailing bytes", want, #bytes - start + 1)
    end
    h.stored = bytes:sub(start)
    return h
end

--- The message of an unpacked file, its bottom words taken from init (the initial message); nil,
-- "path: why" when the rANS stream is refused (CRC, state).
function M.message(h, init, path)
    local ib = init:to_bytes()
    if h.low_words > init:words() then
        return nil, ("%s: the header's low_words %d exceed the initial message's %d words (altered)"):format(path,
            h.low_words, init:words())
    end
    if type(h.state) ~= "string" or not h.state:match("^%x+$") or #h.state ~= 16 then
        return nil, ("%s: the header's state is not 16 hex digits (altered)"):format(path)
    end
    local state = u64_le_hex(h.state)
    local full = table.concat{"nvprans1", u32_le(h.words % 4294967296), u32_le(math.floor(h.words / 4294967296)),
        state, ib:sub(RANS_HEADER + 1, RANS_HEADER + 4 * h.low_words), h.stored, u32_le(h.crc)}
    local msg, err = rans.from_bytes(full)
    if msg == nil then return nil, ("%s: the rANS stream is refused: %s"):format(path, err) end
    return msg
end

return M
