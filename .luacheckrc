std = "luajit"
globals = {"NVP_HOST", "NVP_LUA_DIR", "arg"}
files["spec/"] = {std = "+busted", globals = {"NVP", "assert_close", "numgrad", "spec_rng", "error_of", "tmpdir", "nvp_exe", "logabsdet", "jacobian", "assert_grad", "spec_doubles", "spec_list"}}
max_line_length = 120
