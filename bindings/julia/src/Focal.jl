"""
    Focal

Julia bindings of libfocal through `ccall`.

The library is found at `ENV["FOCAL_LIBRARY"]`, else in the directory
`pkg-config --variable=libdir focal` names, else by `Libdl.find_library`.
Its major version is checked when the module is loaded: a library of
another major version makes loading fail.

Layout: libfocal reads C-contiguous `(N, C, inner)` tensors. A Julia array
is column-major, so the Julia array of size `(inner..., C, N)` has exactly
that memory layout: pass `x` with size `(W, H, C, N)` for a C-order
`(N, C, H, W)` tensor, or `(C, N)` for `(N, C)`. With `channels_last=true`
the class axis comes first in Julia, `(C, W, H, N)`, which is C-order
`(N, H, W, C)`. Nothing is permuted or copied for `Array{Float32}` or
`Array{Float64}` inputs.

Index targets are `Int64` arrays of the position size (`(inner..., N)`, or
`(spatial..., N)` with channels_last) holding **0-based** class indices, as
in C (sigmoid mode: `C` means background). Dense targets have the input's
size and element type. Weights are `nothing` or one value per position.
"""
module Focal

using Libdl

export Loss, FocalError, forward, backward, forward_backward, prior_bias

const SUPPORTED_MAJOR = 1

@enum Mode::Cint begin
    MODE_SOFTMAX = 0
    MODE_SIGMOID = 1
end
@enum Reduction::Cint begin
    REDUCTION_NONE = 0
    REDUCTION_MEAN = 1
    REDUCTION_SUM = 2
    REDUCTION_WEIGHTED_MEAN = 3
    REDUCTION_SUM_OVER_POSITIVES = 4
    REDUCTION_DIVISOR = 5
end
@enum Input::Cint begin
    INPUT_LOGITS = 0
    INPUT_PROBABILITIES = 1
end
@enum Variant::Cint begin
    VARIANT_FL = 0
    VARIANT_FL_STAR = 1
    VARIANT_QFL = 2
    VARIANT_VFL = 3
    VARIANT_ASL = 4
end
@enum SoftForm::Cint begin
    SOFT_TORCHVISION = 0
    SOFT_SPLIT = 1
end

const STATUS_OK = 0
const STATUS_NULL_POINTER = 1
const STATUS_INVALID_SHAPE = 2
const STATUS_INVALID_PARAMETER = 3
const STATUS_INVALID_TARGET = 4
const STATUS_INVALID_WEIGHT = 5
const STATUS_INCOMPATIBLE = 6
const STATUS_OUT_OF_MEMORY = 7
const STATUS_INTERNAL = 99

# Every function of <focal/focal.h>; all are resolved when the module loads.
const FUNCTION_NAMES = (
    :focal_version_number, :focal_version_string, :focal_isa, :focal_status_string,
    :focal_last_error, :focal_loss_create, :focal_loss_clone, :focal_loss_destroy,
    :focal_loss_set_gamma, :focal_loss_set_alpha, :focal_loss_set_alpha_vector,
    :focal_loss_clear_alpha, :focal_loss_set_reduction, :focal_loss_set_ignore_index,
    :focal_loss_clear_ignore_index, :focal_loss_set_input, :focal_loss_set_epsilon,
    :focal_loss_set_label_smoothing, :focal_loss_set_variant, :focal_loss_set_beta,
    :focal_loss_set_threads, :focal_loss_get_mode, :focal_loss_get_gamma,
    :focal_loss_get_alpha, :focal_loss_get_alpha_count, :focal_loss_get_alpha_vector,
    :focal_loss_get_reduction, :focal_loss_get_ignore_index, :focal_loss_get_input,
    :focal_loss_get_epsilon, :focal_loss_get_label_smoothing, :focal_loss_get_variant,
    :focal_loss_get_beta, :focal_loss_get_threads,
    :focal_forward_f32, :focal_backward_f32, :focal_forward_backward_f32,
    :focal_forward_dense_f32, :focal_backward_dense_f32, :focal_forward_backward_dense_f32,
    :focal_forward_f64, :focal_backward_f64, :focal_forward_backward_f64,
    :focal_forward_dense_f64, :focal_backward_dense_f64, :focal_forward_backward_dense_f64,
    :focal_prior_bias,
    # since 1.1
    :focal_backward_bf16, :focal_backward_dense_bf16, :focal_backward_dense_f16,
    :focal_backward_f16, :focal_backward_target_dense_f32, :focal_backward_target_dense_f64,
    :focal_counts_bf16, :focal_counts_dense_bf16, :focal_counts_dense_f16, :focal_counts_dense_f32,
    :focal_counts_dense_f64, :focal_counts_f16, :focal_counts_f32, :focal_counts_f64,
    :focal_forward_backward_bf16, :focal_forward_backward_dense_bf16,
    :focal_forward_backward_dense_f16, :focal_forward_backward_f16, :focal_forward_bf16,
    :focal_forward_dense_bf16, :focal_forward_dense_f16, :focal_forward_f16,
    :focal_loss_clear_pos_weight, :focal_loss_get_clip, :focal_loss_get_divisor,
    :focal_loss_get_gamma_negative, :focal_loss_get_poly_epsilon, :focal_loss_get_pos_weight_count,
    :focal_loss_get_pos_weight_vector, :focal_loss_get_soft_form, :focal_loss_set_clip,
    :focal_loss_set_divisor, :focal_loss_set_gamma_negative, :focal_loss_set_poly_epsilon,
    :focal_loss_set_pos_weight_vector, :focal_loss_set_soft_form
)

const LIBRARY_PATH = Ref{String}("")
const FUNCTIONS = Dict{Symbol,Ptr{Cvoid}}()

sym(name::Symbol) = FUNCTIONS[name]

# ---------------------------------------------------------------------------
# Loading and the version check
# ---------------------------------------------------------------------------

function find_library()
    path = get(ENV, "FOCAL_LIBRARY", "")
    isempty(path) || return path
    libdir = try
        strip(read(`pkg-config --variable=libdir focal`, String))
    catch
        ""
    end
    if !isempty(libdir)
        for name in ("libfocal.so.$(SUPPORTED_MAJOR)", "libfocal.so", "libfocal.dylib")
            candidate = joinpath(libdir, name)
            isfile(candidate) && return candidate
        end
    end
    found = Libdl.find_library(["libfocal", "focal"])
    isempty(found) || return found
    error("libfocal not found: set FOCAL_LIBRARY to the path of libfocal.so.1, " *
          "or make `pkg-config --variable=libdir focal` work (PKG_CONFIG_PATH)")
end

"""
    check_version(number, location)

Throws unless `number` (major*10000 + minor*100 + patch, as
`focal_version_number` returns it) has the major version these bindings
were written for.
"""
function check_version(number::Integer, location::AbstractString="libfocal")
    major = div(number, 10000)
    minor = div(number, 100) % 100
    patch = number % 100
    if major != SUPPORTED_MAJOR
        error("libfocal at $location has version $major.$minor.$patch (major $major), " *
              "but Focal.jl needs major version $SUPPORTED_MAJOR")
    end
    return nothing
end

function load!(path::AbstractString=find_library())
    handle = Libdl.dlopen(path)
    # Only the version is read before the check: another major version may
    # have another ABI.
    fnumber = Libdl.dlsym(handle, :focal_version_number)
    number = ccall(fnumber, Cuint, ())
    check_version(number, path)
    empty!(FUNCTIONS)
    for name in FUNCTION_NAMES
        FUNCTIONS[name] = Libdl.dlsym(handle, name)
    end
    LIBRARY_PATH[] = path
    return path
end

__init__() = load!()

function version_number()
    f = sym(:focal_version_number)
    return Int(ccall(f, Cuint, ()))
end

function version()
    f = sym(:focal_version_string)
    return VersionNumber(unsafe_string(ccall(f, Ptr{UInt8}, ())))
end

"""
    isa_path()

The kernel path libfocal computes with: "avx512", "avx2" or "scalar".
"""
function isa_path()
    f = sym(:focal_isa)
    return unsafe_string(ccall(f, Ptr{UInt8}, ()))
end

# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

"""
    FocalError(status, message)

A libfocal call returned `status` (a `focal_status` value, e.g. 4 for
FOCAL_ERROR_INVALID_TARGET); `message` is the detail from
`focal_last_error`.
"""
struct FocalError <: Exception
    status::Int
    message::String
end

function status_string(status::Integer)
    f = sym(:focal_status_string)
    return unsafe_string(ccall(f, Ptr{UInt8}, (Cint,), status))
end

function last_error()
    f = sym(:focal_last_error)
    return unsafe_string(ccall(f, Ptr{UInt8}, ()))
end

Base.showerror(io::IO, e::FocalError) =
    print(io, "FocalError: ", status_string(e.status), " (status ", e.status, "): ", e.message)

# Must run on the task's thread right after the call: the message is per thread.
check(status::Integer) = status == STATUS_OK ? nothing : throw(FocalError(status, last_error()))

function prior_bias(prior::Real)
    out = Ref{Cdouble}(0)
    f = sym(:focal_prior_bias)
    check(ccall(f, Cint, (Cdouble, Ref{Cdouble}), prior, out))
    return out[]
end

# ---------------------------------------------------------------------------
# The loss context
# ---------------------------------------------------------------------------

"""
    Loss(mode=MODE_SOFTMAX; gamma, alpha, reduction, ignore_index, input,
         epsilon, label_smoothing, variant, beta, threads)

A libfocal context. Unset keywords keep the library's defaults. Freed by
`close(loss)` or by its finalizer; `copy(loss)` is an independent clone.
"""
mutable struct Loss
    ptr::Ptr{Cvoid}
    function Loss(ptr::Ptr{Cvoid}, ::Val{:owned})
        loss = new(ptr)
        finalizer(destroy!, loss)
        return loss
    end
end

function destroy!(loss::Loss)
    if loss.ptr != C_NULL
        f = sym(:focal_loss_destroy)
        ccall(f, Cvoid, (Ptr{Cvoid},), loss.ptr)
        loss.ptr = C_NULL
    end
    return nothing
end

Base.close(loss::Loss) = destroy!(loss)
isclosed(loss::Loss) = loss.ptr == C_NULL
handle(loss::Loss) = loss.ptr == C_NULL ? throw(ArgumentError("the Focal.Loss is closed")) : loss.ptr

function Loss(mode::Mode=MODE_SOFTMAX; gamma=nothing, alpha=nothing, reduction=nothing,
              ignore_index=nothing, input=nothing, epsilon=nothing, label_smoothing=nothing,
              variant=nothing, beta=nothing, threads=nothing)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    f = sym(:focal_loss_create)
    check(ccall(f, Cint, (Ref{Ptr{Cvoid}}, Cint), out, Integer(mode)))
    loss = Loss(out[], Val(:owned))
    try
        gamma === nothing || set_gamma!(loss, gamma)
        alpha === nothing || set_alpha!(loss, alpha)
        reduction === nothing || set_reduction!(loss, reduction)
        ignore_index === nothing || set_ignore_index!(loss, ignore_index)
        input === nothing || set_input!(loss, input)
        epsilon === nothing || set_epsilon!(loss, epsilon)
        label_smoothing === nothing || set_label_smoothing!(loss, label_smoothing)
        variant === nothing || set_variant!(loss, variant)
        beta === nothing || set_beta!(loss, beta)
        threads === nothing || set_threads!(loss, threads)
    catch
        close(loss)
        rethrow()
    end
    return loss
end

Loss(mode::Symbol; kwargs...) =
    Loss(mode === :sigmoid ? MODE_SIGMOID : mode === :softmax ? MODE_SOFTMAX :
         throw(ArgumentError("mode must be :softmax or :sigmoid")); kwargs...)

function clone(loss::Loss)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    f = sym(:focal_loss_clone)
    st = GC.@preserve loss ccall(f, Cint, (Ptr{Cvoid}, Ref{Ptr{Cvoid}}), handle(loss), out)
    check(st)
    return Loss(out[], Val(:owned))
end

Base.copy(loss::Loss) = clone(loss)

# Scalar settings: set_X!(loss, value) and X(loss).
for (name, T) in ((:gamma, Cdouble), (:epsilon, Cdouble), (:label_smoothing, Cdouble),
                  (:beta, Cdouble), (:threads, Cint), (:divisor, Cdouble), (:gamma_negative, Cdouble),
                  (:clip, Cdouble), (:poly_epsilon, Cdouble))
    setname = Symbol("set_", name, "!")
    csetter = QuoteNode(Symbol("focal_loss_set_", name))
    cgetter = QuoteNode(Symbol("focal_loss_get_", name))
    @eval function $setname(loss::Loss, value::Real)
        f = sym($csetter)
        st = GC.@preserve loss ccall(f, Cint, (Ptr{Cvoid}, $T), handle(loss), value)
        check(st)
        return loss
    end
    @eval function $name(loss::Loss)
        out = Ref{$T}(0)
        f = sym($cgetter)
        st = GC.@preserve loss ccall(f, Cint, (Ptr{Cvoid}, Ref{$T}), handle(loss), out)
        check(st)
        return out[]
    end
end

# Enum settings; the setters also take a raw integer, which the library checks.
for (name, E) in ((:reduction, Reduction), (:input, Input), (:variant, Variant), (:soft_form, SoftForm))
    setname = Symbol("set_", name, "!")
    csetter = QuoteNode(Symbol("focal_loss_set_", name))
    cgetter = QuoteNode(Symbol("focal_loss_get_", name))
    @eval function $setname(loss::Loss, value::Integer)
        f = sym($csetter)
        st = GC.@preserve loss ccall(f, Cint, (Ptr{Cvoid}, Cint), handle(loss), value)
        check(st)
        return loss
    end
    @eval $setname(loss::Loss, value::$E) = $setname(loss, Integer(value))
    @eval function $name(loss::Loss)
        out = Ref{Cint}(0)
        f = sym($cgetter)
        st = GC.@preserve loss ccall(f, Cint, (Ptr{Cvoid}, Ref{Cint}), handle(loss), out)
        check(st)
        return $E(out[])
    end
end

function mode(loss::Loss)
    out = Ref{Cint}(0)
    f = sym(:focal_loss_get_mode)
    st = GC.@preserve loss ccall(f, Cint, (Ptr{Cvoid}, Ref{Cint}), handle(loss), out)
    check(st)
    return Mode(out[])
end

"""
    set_alpha!(loss, a)

`a` is `nothing` (no alpha), a number (scalar alpha) or a vector (one
alpha per class).
"""
function set_alpha!(loss::Loss, value::Real)
    f = sym(:focal_loss_set_alpha)
    st = GC.@preserve loss ccall(f, Cint, (Ptr{Cvoid}, Cdouble), handle(loss), value)
    check(st)
    return loss
end

function set_alpha!(loss::Loss, values::AbstractVector{<:Real})
    v = Vector{Cdouble}(values)
    f = sym(:focal_loss_set_alpha_vector)
    st = GC.@preserve loss v ccall(f, Cint, (Ptr{Cvoid}, Ptr{Cdouble}, Int64), handle(loss), v, length(v))
    check(st)
    return loss
end

function set_alpha!(loss::Loss, ::Nothing)
    f = sym(:focal_loss_clear_alpha)
    st = GC.@preserve loss ccall(f, Cint, (Ptr{Cvoid},), handle(loss))
    check(st)
    return loss
end

"""
    alpha(loss)

`nothing`, the scalar alpha, or a `Vector{Float64}` of per-class values.
"""
function alpha(loss::Loss)
    count = Ref{Int64}(0)
    f = sym(:focal_loss_get_alpha_count)
    st = GC.@preserve loss ccall(f, Cint, (Ptr{Cvoid}, Ref{Int64}), handle(loss), count)
    check(st)
    if count[] > 0
        v = Vector{Cdouble}(undef, count[])
        g = sym(:focal_loss_get_alpha_vector)
        st = GC.@preserve loss v ccall(g, Cint, (Ptr{Cvoid}, Ptr{Cdouble}, Int64), handle(loss), v, count[])
        check(st)
        return v
    end
    out = Ref{Cdouble}(0)
    h = sym(:focal_loss_get_alpha)
    st = GC.@preserve loss ccall(h, Cint, (Ptr{Cvoid}, Ref{Cdouble}), handle(loss), out)
    st == STATUS_INCOMPATIBLE && return nothing
    check(st)
    return out[]
end

"""
    set_pos_weight!(loss, w)

`w` is a vector of one `pos_weight` per class (sigmoid mode, as
`BCEWithLogitsLoss(pos_weight=)`), or `nothing` to clear it.
"""
function set_pos_weight!(loss::Loss, values::AbstractVector{<:Real})
    v = Vector{Cdouble}(values)
    f = sym(:focal_loss_set_pos_weight_vector)
    st = GC.@preserve loss v ccall(f, Cint, (Ptr{Cvoid}, Ptr{Cdouble}, Int64), handle(loss), v, length(v))
    check(st)
    return loss
end

function set_pos_weight!(loss::Loss, ::Nothing)
    f = sym(:focal_loss_clear_pos_weight)
    st = GC.@preserve loss ccall(f, Cint, (Ptr{Cvoid},), handle(loss))
    check(st)
    return loss
end

"""
    pos_weight(loss)

`nothing`, or the `Vector{Float64}` of per-class pos_weight values.
"""
function pos_weight(loss::Loss)
    count = Ref{Int64}(0)
    f = sym(:focal_loss_get_pos_weight_count)
    st = GC.@preserve loss ccall(f, Cint, (Ptr{Cvoid}, Ref{Int64}), handle(loss), count)
    check(st)
    count[] > 0 || return nothing
    v = Vector{Cdouble}(undef, count[])
    g = sym(:focal_loss_get_pos_weight_vector)
    st = GC.@preserve loss v ccall(g, Cint, (Ptr{Cvoid}, Ptr{Cdouble}, Int64), handle(loss), v, count[])
    check(st)
    return v
end

function set_ignore_index!(loss::Loss, index::Integer)
    f = sym(:focal_loss_set_ignore_index)
    st = GC.@preserve loss ccall(f, Cint, (Ptr{Cvoid}, Int64), handle(loss), index)
    check(st)
    return loss
end

function set_ignore_index!(loss::Loss, ::Nothing)
    f = sym(:focal_loss_clear_ignore_index)
    st = GC.@preserve loss ccall(f, Cint, (Ptr{Cvoid},), handle(loss))
    check(st)
    return loss
end

"""
    ignore_index(loss)

`nothing` or the target value that marks an ignored position.
"""
function ignore_index(loss::Loss)
    out = Ref{Int64}(0)
    f = sym(:focal_loss_get_ignore_index)
    st = GC.@preserve loss ccall(f, Cint, (Ptr{Cvoid}, Ref{Int64}), handle(loss), out)
    st == STATUS_INCOMPATIBLE && return nothing
    check(st)
    return out[]
end

# ---------------------------------------------------------------------------
# Compute
# ---------------------------------------------------------------------------

const FloatType = Union{Float32,Float64}

suffix(::Type{Float32}) = "f32"
suffix(::Type{Float64}) = "f64"

# One compute call's arguments, converted and checked.
struct Call{T<:FloatType}
    x::Array{T}
    n::Int64
    c::Int64
    inner::Int64
    dense::Bool
    target::Union{Array{Int64},Array{T}}
    weight::Union{Nothing,Array{T}}
    reduced::Bool
    outsize::Tuple
end

"""
    dims(size, channels_last=false)

`(n, c, inner, position_size)` of a Julia input of this size: `(inner..., C,
N)` gives `n = N`, `c = C`, `inner = prod(inner...)`; with channels_last,
`(C, spatial..., N)` gives `n = prod(spatial) * N`, `c = C`, `inner = 1`.
"""
function dims(sz::Tuple, channels_last::Bool=false)
    nd = length(sz)
    nd >= 2 || throw(ArgumentError("input needs at least 2 dimensions, got size $sz"))
    if channels_last
        positions = sz[2:nd]
        return (prod(positions), sz[1], 1, positions)
    end
    positions = (sz[1:nd-2]..., sz[nd])
    return (sz[nd], sz[nd-1], prod(sz[1:nd-2]), positions)
end

function prepare(loss::Loss, x::AbstractArray{T}, target::AbstractArray, weight,
                 channels_last::Bool) where {T<:FloatType}
    xa = x isa Array{T} ? x : Array{T}(x)
    n, c, inner, positions = dims(size(xa), channels_last)
    npos = n * inner
    ET = eltype(target)
    dense = ET <: AbstractFloat || ET === Bool
    if dense
        size(target) == size(xa) ||
            throw(DimensionMismatch("dense target has size $(size(target)), expected the input's $(size(xa))"))
        t = target isa Array{T} ? target : Array{T}(target)
    else
        ET <: Integer || throw(ArgumentError("index target must hold integers, got $ET"))
        length(target) == npos ||
            throw(DimensionMismatch("index target has $(length(target)) values, expected $npos"))
        t = target isa Array{Int64} ? target : Array{Int64}(target)
    end
    w = nothing
    if weight !== nothing
        length(weight) == npos ||
            throw(DimensionMismatch("weight has $(length(weight)) values, expected $npos"))
        w = weight isa Array{T} ? weight : Array{T}(weight)
    end
    reduced = reduction(loss) != REDUCTION_NONE
    outsize = reduced ? () : (mode(loss) == MODE_SIGMOID ? size(xa) : positions)
    return Call{T}(xa, n, c, inner, dense, t, w, reduced, outsize)
end

entry(op::String, call::Call{T}) where {T} =
    sym(Symbol("focal_", op, call.dense ? "_dense_" : "_", suffix(T)))

weight_pointer(call::Call) = call.weight === nothing ? C_NULL : pointer(call.weight)

"""
    forward(loss, x, target; weight=nothing, channels_last=false)

The loss: a number when reduced; with REDUCTION_NONE an array of the
position size (softmax) or of the input's size (sigmoid).
"""
function forward(loss::Loss, x::AbstractArray{T}, target::AbstractArray;
                 weight=nothing, channels_last::Bool=false) where {T<:FloatType}
    call = prepare(loss, x, target, weight, channels_last)
    out = Array{T}(undef, call.outsize)
    f = entry("forward", call)
    st = GC.@preserve loss call out begin
        ccall(f, Cint,
              (Ptr{Cvoid}, Int64, Int64, Int64, Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}),
              handle(loss), call.n, call.c, call.inner, pointer(call.x), pointer(call.target),
              weight_pointer(call), pointer(out))
    end
    check(st)
    return call.reduced ? out[] : out
end

"""
    backward(loss, x, target, grad_out; weight=nothing, channels_last=false)

The gradient of `sum(grad_out .* forward(...))` with respect to `x`;
`grad_out` is a number when reduced, else shaped like forward's result.
"""
function backward(loss::Loss, x::AbstractArray{T}, target::AbstractArray, grad_out;
                  weight=nothing, channels_last::Bool=false) where {T<:FloatType}
    call = prepare(loss, x, target, weight, channels_last)
    if call.reduced
        g = fill(convert(T, grad_out isa AbstractArray ? only(grad_out) : grad_out))
    else
        length(grad_out) == prod(call.outsize) ||
            throw(DimensionMismatch("grad_out has $(length(grad_out)) values, expected $(prod(call.outsize))"))
        g = grad_out isa Array{T} ? grad_out : Array{T}(grad_out)
    end
    grad = Array{T}(undef, size(call.x))
    f = entry("backward", call)
    st = GC.@preserve loss call g grad begin
        ccall(f, Cint,
              (Ptr{Cvoid}, Int64, Int64, Int64, Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}),
              handle(loss), call.n, call.c, call.inner, pointer(call.x), pointer(call.target),
              weight_pointer(call), pointer(g), pointer(grad))
    end
    check(st)
    return grad
end

"""
    forward_backward(loss, x, target; weight=nothing, channels_last=false)

`(loss, gradient)` in one pass; the gradient is that of the reduced loss
(with REDUCTION_NONE: of the sum of the losses).
"""
function forward_backward(loss::Loss, x::AbstractArray{T}, target::AbstractArray;
                          weight=nothing, channels_last::Bool=false) where {T<:FloatType}
    call = prepare(loss, x, target, weight, channels_last)
    out = Array{T}(undef, call.outsize)
    grad = Array{T}(undef, size(call.x))
    f = entry("forward_backward", call)
    st = GC.@preserve loss call out grad begin
        ccall(f, Cint,
              (Ptr{Cvoid}, Int64, Int64, Int64, Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}),
              handle(loss), call.n, call.c, call.inner, pointer(call.x), pointer(call.target),
              weight_pointer(call), pointer(out), pointer(grad))
    end
    check(st)
    return (call.reduced ? out[] : out), grad
end

end # module
