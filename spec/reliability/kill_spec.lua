-- Crash safety: experiments/kill_test.lua with a few kills (the 50-kill run is in
-- experiments/results/reliability.md). Each kill is a SIGKILL at a random moment of a run that
-- checkpoints after every step; the newest checkpoint must load, the next start must resume from it,
-- and the run finished after all the kills must equal an uninterrupted one bit for bit.
local fixture = dofile("spec/reliability/fixture.lua")

describe("SIGKILL at random moments", function()
    it("never loses or corrupts the newest checkpoint, and resuming is exact", function()
        local dir = tmpdir()
        local code, out = fixture.run(("%s experiments/kill_test.lua kills=6 max_delay=0.8 seed=%d dir=%s"):format(
            nvp_exe(), os.time() % 1000, dir))
        assert.are.equal(0, code, out)
        assert.matches("kill_test: seed %d+, 6 kills .* 0 unreadable checkpoints; .* bit%-identical", out)
        os.execute("rm -rf " .. dir)
    end)
end)
