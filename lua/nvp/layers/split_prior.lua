-- nvp.layers.split_prior: Glow's learned prior at a factor-out (Kingma & Dhariwal 2018; openai/glow
-- model.py `split2d` / `split2d_prior`) as a flow layer, placed just before an nn.FactorOut:
--   squeeze (B) -> the half that goes on (channels [0, 2C) of the squeezed maps, FactorOut's inner
--   half) conditions a zero-initialised 3x3 convolution giving (t, r) = (-mean, -log std) of the half
--   that is factored out, which becomes eps = (z - mean) / std -> unsqueeze (B).
-- Under the model's standard normal prior on eps, log p = log N(z; mean, std^2): Glow's split prior,
-- exactly, with its log-det -sum log std. Sampling at temperature T draws eps ~ N(0, T^2), so
-- z = mean + T std eps (Glow's eps_std). It starts as the identity (log-det 0).
--
--   x, y: (N, C, H, W), H and W even; logdet: (N)
local registry = require "nvp.layers.registry"

registry.register{
    name = "SplitPrior", kind = "flow",
    doc = "Glow's learned split prior: the factored-out half of the next nn.FactorOut is normalised by a mean "
        .. "and log-std from a zero-initialised conv of the half that goes on",
    args = {},
    build = function(_, shape, ctx)
        local c, h, w = shape[1], shape[2], shape[3]
        if h % 2 ~= 0 or w % 2 ~= 0 then
            error(("%s: a split prior needs even height and width (it works on FactorOut's squeeze), its input is "
                .. "%dx%dx%d"):format(ctx.path, c, h, w), 0)
        end
        local nn = require "nvp.nn"
        local side = ctx.side
        local module, out = ctx.build(nn.Sequence{nn.Squeeze{order = "B"},
            nn.GlowCoupling{kind = "gaussian", parity = 0, net = nn.ZeroConv{}},
            nn.Squeeze{order = "B", inverse = true}, name = "SplitPrior"}, shape, ctx)
        ctx.side = side
        return module, out
    end,
    examples = {{args = {}, shape = {1, 4, 2}}, {args = {}, shape = {3, 2, 4}}},
}

return {}
