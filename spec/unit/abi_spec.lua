-- The FFI's view of the engine's structs must match the C compiler's (the ljsyscall check).
local ffi = require "ffi"

describe("ABI", function()
    it("nvp_images has the same size and field offsets in Lua and C", function()
        assert.are.equal(tonumber(NVP.nvp_abi_sizeof_images()), ffi.sizeof("nvp_images"))
        for i, field in ipairs{"data", "count", "channels", "height", "width"} do
            assert.are.equal(tonumber(NVP.nvp_abi_offsetof_images(i - 1)), ffi.offsetof("nvp_images", field), field)
        end
    end)

    it("status codes are the ones the header names", function()
        assert.are.equal(0, ffi.new("nvp_status", "NVP_OK"))
        assert.are.equal(2, ffi.new("nvp_status", "NVP_STATUS_BAD_SHAPE"))
    end)
end)
