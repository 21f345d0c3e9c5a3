-- nvp.layers.module: what every layer shares (the torch/nn idea, kept small).
--
-- A module owns named parameters with gradient buffers of the same shape, named buffers that are
-- state but not trained (batch-norm running averages), and children. Names nest with dots, so a
-- model's state is a flat {name -> Tensor} map: what checkpoints store and optimisers walk.
--
-- Outputs and saved activations live in per-module buffers that are reused while the input shape
-- stays the same (`self:buffer(key, shape)`), so a training step allocates nothing once warm.
-- share_buffers(prefix) moves them to the shared workspace instead (recompute-by-inverse: a layer's
-- activations are dead once the next layer has run, so layers of the same shapes share storage).
local T = require "nvp.tensor"
local ws = require "nvp.workspace"

local Module = {}
Module.__index = Module

--- Make `class` a subclass of Module (or of `parent`).
function Module.class(parent)
    local class = {}
    class.__index = class
    return setmetatable(class, {__index = parent or Module})
end

--- Initialise the bookkeeping of a new instance.
function Module.init(self)
    self._params, self._grads, self._buffers = {}, {}, {}
    self._param_order, self._buffer_order, self._children = {}, {}, {}
    self._scratch = {}
    self.training = true
    return self
end

--- Register a parameter (a Tensor) and allocate its zeroed gradient.
-- opts.decay = true marks a weight-norm scale g, which the paper's L2 penalty applies to.
function Module:param(name, tensor, opts)
    self._params[name] = tensor
    self._grads[name] = T.zeros(tensor.shape)
    self._param_order[#self._param_order + 1] = name
    if opts and opts.decay then
        self._decay = self._decay or {}
        self._decay[name] = true
    end
    return tensor
end

--- Register a state buffer (saved and restored, not trained).
function Module:register_buffer(name, tensor)
    self._buffers[name] = tensor
    self._buffer_order[#self._buffer_order + 1] = name
    return tensor
end

function Module:add(name, child)
    self._children[#self._children + 1] = {name = name, module = child}
    return child
end

--- A reusable work tensor for `key`, reallocated only when the shape changes (or, after
-- share_buffers, the workspace's tensor for prefix .. key and this shape).
function Module:buffer(key, shape)
    if self._shared ~= nil then return ws.get(self._shared .. key, shape) end
    local t = self._scratch[key]
    if t ~= nil and #t.shape == #shape then
        local same = true
        for i = 1, #shape do
            if t.shape[i] ~= shape[i] then same = false break end
        end
        if same then return t end
    end
    t = T.empty(shape)
    self._scratch[key] = t
    return t
end

--- Same, zero-filled (for gradients that kernels accumulate into).
function Module:zeroed(key, shape)
    return self:buffer(key, shape):zero()
end

--- Take this module's buffers, and its children's (under prefix .. child name .. "."), from the
-- shared workspace under `prefix`: modules given the same prefix then share storage, so none of them
-- may expect its buffers to survive another's forward or backward. Containers override this to say
-- which of their layers may share.
function Module:share_buffers(prefix)
    self._shared = prefix
    for _, child in ipairs(self._children) do child.module:share_buffers(prefix .. child.name .. ".") end
    return self
end

--- Backward from the OUTPUT y of the last forward (recompute-by-inverse): recover(y) rebuilds the
-- input by the exact inverse, re-running what backward needs, then backward as usual.
-- Returns dL/dx and the rebuilt x (the previous layer's output).
function Module:backward_by_inverse(y, dy, dlogdet)
    local x = self:recover(y)
    return self:backward(x, dy, dlogdet), x
end

--- Visit every (name, param, grad, decay) in a fixed order: own parameters, then children's.
function Module:each_parameter(fn, prefix)
    prefix = prefix or ""
    for _, name in ipairs(self._param_order) do
        fn(prefix .. name, self._params[name], self._grads[name], self._decay ~= nil and self._decay[name] == true)
    end
    for _, child in ipairs(self._children) do
        child.module:each_parameter(fn, prefix .. child.name .. ".")
    end
end

function Module:each_buffer(fn, prefix)
    prefix = prefix or ""
    for _, name in ipairs(self._buffer_order) do fn(prefix .. name, self._buffers[name]) end
    for _, child in ipairs(self._children) do
        child.module:each_buffer(fn, prefix .. child.name .. ".")
    end
end

--- params, grads: two arrays in the same order (nn's contract).
function Module:parameters()
    local params, grads = {}, {}
    self:each_parameter(function(_, p, g)
        params[#params + 1] = p
        grads[#grads + 1] = g
    end)
    return params, grads
end

--- Number of trainable scalars.
function Module:parameter_count()
    local n = 0
    self:each_parameter(function(_, p) n = n + p.numel end)
    return n
end

function Module:zero_grad()
    self:each_parameter(function(_, _, g) g:zero() end)
end

--- Training mode (batch statistics) or evaluation mode (running averages), recursively.
function Module:train(on)
    self.training = on ~= false
    for _, child in ipairs(self._children) do child.module:train(on) end
    return self
end

function Module:evaluate()
    return self:train(false)
end

--- {name -> Tensor} of every parameter and buffer: the state a checkpoint holds.
function Module:state()
    local out = {}
    self:each_parameter(function(name, p) out[name] = p end)
    self:each_buffer(function(name, b) out[name] = b end)
    return out
end

--- Copy a {name -> Tensor} state in; every name must exist with the same shape, and every
-- parameter and buffer must be given. Raises naming the first problem.
function Module:load_state(state)
    local own = self:state()
    for name, t in pairs(own) do
        local src = state[name]
        if src == nil then error(("load_state: missing tensor '%s' %s"):format(name, T.shape_string(t.shape)), 2) end
        if not t:same_shape(src) then
            error(("load_state: tensor '%s' has shape %s, the model needs %s"):format(name,
                T.shape_string(src.shape), T.shape_string(t.shape)), 2)
        end
    end
    for name in pairs(state) do
        if own[name] == nil then error(("load_state: unexpected tensor '%s'"):format(name), 2) end
    end
    for name, t in pairs(own) do t:copy(state[name]) end
end

return Module
