-- nvp.viz.base64: base64 (RFC 4648, with padding) for the page's data: URIs.
--
--   base64.encode("hi")                     --> "aGk="
--   base64.data_uri("fig.png")              --> "data:image/png;base64,...", or nil, message
local ffi = require "ffi"
local band, rshift, lshift, bor = bit.band, bit.rshift, bit.lshift, bit.bor

local M = {}

local ALPHABET = ffi.new("uint8_t[64]", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

M.MIME = {png = "image/png", gif = "image/gif", webp = "image/webp", jpg = "image/jpeg", jpeg = "image/jpeg",
          svg = "image/svg+xml"}

function M.encode(s)
    local n = #s
    local src = ffi.cast("const uint8_t *", s)
    local out = ffi.new("uint8_t[?]", math.floor((n + 2) / 3) * 4 + 1)
    local o = 0
    local i = 0
    while i + 2 < n do
        local v = bor(lshift(src[i], 16), lshift(src[i + 1], 8), src[i + 2])
        out[o] = ALPHABET[rshift(v, 18)]
        out[o + 1] = ALPHABET[band(rshift(v, 12), 63)]
        out[o + 2] = ALPHABET[band(rshift(v, 6), 63)]
        out[o + 3] = ALPHABET[band(v, 63)]
        i, o = i + 3, o + 4
    end
    local rest = n - i
    if rest > 0 then
        local v = lshift(src[i], 16)
        if rest == 2 then v = bor(v, lshift(src[i + 1], 8)) end
        out[o] = ALPHABET[rshift(v, 18)]
        out[o + 1] = ALPHABET[band(rshift(v, 12), 63)]
        out[o + 2] = rest == 2 and ALPHABET[band(rshift(v, 6), 63)] or 61 -- '='
        out[o + 3] = 61
        o = o + 4
    end
    return ffi.string(out, o)
end

--- A data: URI of a file, its type from the extension. Returns the URI, or nil, message.
function M.data_uri(path)
    local ext = (path:match("%.(%w+)$") or ""):lower()
    local mime = M.MIME[ext]
    if mime == nil then return nil, ("%s: no image type for extension '%s'"):format(path, ext) end
    local f, err = io.open(path, "rb")
    if f == nil then return nil, err end
    local bytes = f:read("*a")
    f:close()
    return "data:" .. mime .. ";base64," .. M.encode(bytes)
end

return M
