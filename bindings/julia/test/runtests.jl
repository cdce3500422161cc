# Tests of Focal.jl against the installed libfocal and the golden data
# (tests/golden, PyTorch float64 references). Run after sourcing
# <prefix>/env.sh of an installed libfocal:
#
#     julia --startup-file=no bindings/julia/test/runtests.jl

using Test

include(joinpath(@__DIR__, "..", "src", "Focal.jl"))
using .Focal

const GOLDEN_DIR = normpath(joinpath(@__DIR__, "..", "..", "..", "tests", "golden"))

# ---------------------------------------------------------------------------
# The golden format (tests/golden/README.md)
# ---------------------------------------------------------------------------

function read_golden(path)
    tokens = String[]
    for line in eachline(path)
        s = strip(line)
        (isempty(s) || startswith(s, "#")) && continue
        append!(tokens, split(s))
    end
    cases = Dict{String,Any}[]
    case = Dict{String,Any}()
    i = 1
    next!() = (i += 1; tokens[i-1])
    while i <= length(tokens)
        key = next!()
        if key == "case"
            case = Dict{String,Any}("name" => next!(), "tol" => (1e-10, 1e-4))
        elseif key == "end"
            push!(cases, case)
        elseif key in ("mode", "targets", "input", "reduction", "variant")
            case[key] = next!()
        elseif key in ("gamma", "smoothing", "epsilon", "beta")
            case[key] = parse(Float64, next!())
        elseif key == "alpha"
            kind = next!()
            if kind == "none"
                case["alpha"] = nothing
            elseif kind == "scalar"
                case["alpha"] = parse(Float64, next!())
            else
                k = parse(Int, next!())
                case["alpha"] = [parse(Float64, next!()) for _ in 1:k]
            end
        elseif key == "ignore_index"
            v = next!()
            case["ignore_index"] = v == "none" ? nothing : parse(Int64, v)
        elseif key == "tol"
            r64 = parse(Float64, next!())
            r32 = parse(Float64, next!())
            case["tol"] = (r64, r32)
        elseif key == "shape"
            case["shape"] = (parse(Int, next!()), parse(Int, next!()), parse(Int, next!()))
        elseif key in ("x", "t", "w", "g", "out", "grad", "fgrad")
            count = next!()
            case[key] = count == "none" ? nothing : [next!() for _ in 1:parse(Int, count)]
        else
            error("$path: unknown keyword $key")
        end
    end
    return cases
end

floats(v) = [parse(Float64, s) for s in v]

const REDUCTIONS = Dict("none" => Focal.REDUCTION_NONE, "mean" => Focal.REDUCTION_MEAN,
                        "sum" => Focal.REDUCTION_SUM, "weighted_mean" => Focal.REDUCTION_WEIGHTED_MEAN,
                        "sum_over_positives" => Focal.REDUCTION_SUM_OVER_POSITIVES)

function configure(case)
    loss = Loss(case["mode"] == "sigmoid" ? Focal.MODE_SIGMOID : Focal.MODE_SOFTMAX)
    Focal.set_gamma!(loss, case["gamma"])
    Focal.set_alpha!(loss, case["alpha"])
    Focal.set_reduction!(loss, REDUCTIONS[case["reduction"]])
    Focal.set_ignore_index!(loss, case["ignore_index"])
    Focal.set_input!(loss, case["input"] == "probabilities" ? Focal.INPUT_PROBABILITIES : Focal.INPUT_LOGITS)
    Focal.set_epsilon!(loss, case["epsilon"])
    Focal.set_label_smoothing!(loss, case["smoothing"])
    Focal.set_variant!(loss, case["variant"] == "fl_star" ? Focal.VARIANT_FL_STAR : Focal.VARIANT_FL)
    Focal.set_beta!(loss, case["beta"])
    return loss
end

# |got - want| <= atol + rtol |want|, atol = 0.1 rtol max |want| (the C runner's rule).
function agrees(got, want::Vector{Float64}, rtol)
    got = Float64.(vec(collect(got)))
    length(got) == length(want) || return false
    finite = filter(isfinite, want)
    atol = rtol * max(isempty(finite) ? 0.0 : maximum(abs, finite), 1e-300) * 0.1
    for (a, b) in zip(got, want)
        if isnan(b)
            isnan(a) || return false
        elseif isinf(b)
            a == b || return false
        elseif !(isfinite(a) && abs(a - b) <= atol + rtol * abs(b))
            return false
        end
    end
    return true
end

# A C-order (n, c, inner) tensor is the Julia array of size (inner, c, n).
function run_case(case, ::Type{T}) where {T}
    n, c, inner = case["shape"]
    rtol = T === Float64 ? case["tol"][1] : case["tol"][2]
    dense = case["targets"] == "dense"
    x = reshape(T.(floats(case["x"])), inner, c, n)
    t = dense ? reshape(T.(floats(case["t"])), inner, c, n) :
        reshape([parse(Int64, s) for s in case["t"]], inner, n)
    w = case["w"] === nothing ? nothing : reshape(T.(floats(case["w"])), inner, n)
    loss = configure(case)
    try
        reduced = Focal.reduction(loss) != Focal.REDUCTION_NONE
        out = Focal.forward(loss, x, t; weight=w)
        g = T.(floats(case["g"]))
        gout = reduced ? g[1] : reshape(g, size(out))
        @test agrees(out, floats(case["out"]), rtol)
        @test agrees(Focal.backward(loss, x, t, gout; weight=w), floats(case["grad"]), rtol)
        out2, fgrad = Focal.forward_backward(loss, x, t; weight=w)
        @test agrees(out2, floats(case["out"]), rtol)
        @test agrees(fgrad, floats(case["fgrad"]), rtol)
        @test eltype(fgrad) === T
        @test size(fgrad) == size(x)
    finally
        close(loss)
    end
end

# ---------------------------------------------------------------------------

@testset "Focal.jl" begin
    @testset "library and version" begin
        @test Focal.version().major == 1
        @test div(Focal.version_number(), 10000) == 1
        @test Focal.isa_path() in ("avx512", "avx2", "scalar")
        prefix = get(ENV, "FOCAL_PREFIX", "")
        if !isempty(prefix)
            @test startswith(realpath(Focal.LIBRARY_PATH[]), realpath(prefix))
        end
        @test Focal.check_version(10000, "lib") === nothing
        @test Focal.check_version(10203, "lib") === nothing
        @test_throws ErrorException Focal.check_version(20000, "lib")
        err = try
            Focal.check_version(20103, "lib")
            nothing
        catch e
            e
        end
        @test err isa ErrorException && occursin("2.1.3", err.msg) && occursin("major version 1", err.msg)
        @test Focal.prior_bias(0.01) ≈ log(0.01 / 0.99)
    end

    @testset "1.1 settings" begin
        loss = Loss(Focal.MODE_SIGMOID)
        # The defaults of API.md.
        @test Focal.divisor(loss) == 1.0
        @test Focal.gamma_negative(loss) == 4.0
        @test Focal.clip(loss) == 0.05
        @test Focal.poly_epsilon(loss) == 0.0
        @test Focal.soft_form(loss) == Focal.SOFT_TORCHVISION
        @test Focal.pos_weight(loss) === nothing
        Focal.set_divisor!(loss, 8.0)
        Focal.set_gamma_negative!(loss, 2.0)
        Focal.set_clip!(loss, 0.1)
        Focal.set_poly_epsilon!(loss, 1.0)
        Focal.set_soft_form!(loss, Focal.SOFT_SPLIT)
        Focal.set_pos_weight!(loss, [2.0, 3.0])
        Focal.set_reduction!(loss, Focal.REDUCTION_DIVISOR)
        Focal.set_variant!(loss, Focal.VARIANT_ASL)
        @test (Focal.divisor(loss), Focal.gamma_negative(loss), Focal.clip(loss)) == (8.0, 2.0, 0.1)
        @test Focal.poly_epsilon(loss) == 1.0 && Focal.soft_form(loss) == Focal.SOFT_SPLIT
        @test Focal.pos_weight(loss) == [2.0, 3.0]
        @test Focal.reduction(loss) == Focal.REDUCTION_DIVISOR && Focal.variant(loss) == Focal.VARIANT_ASL
        # Out of the domain: INVALID_PARAMETER, the setting unchanged.
        err = try
            Focal.set_clip!(loss, 1.0)
            nothing
        catch e
            e
        end
        @test err isa FocalError && err.status == Focal.STATUS_INVALID_PARAMETER
        @test Focal.clip(loss) == 0.1
        Focal.set_pos_weight!(loss, nothing)
        @test Focal.pos_weight(loss) === nothing
        close(loss)
    end

    @testset "settings" begin
        loss = Loss()
        @test Focal.mode(loss) == Focal.MODE_SOFTMAX
        @test Focal.gamma(loss) == 2.0
        @test Focal.alpha(loss) === nothing
        @test Focal.reduction(loss) == Focal.REDUCTION_MEAN
        @test Focal.ignore_index(loss) === nothing
        @test Focal.input(loss) == Focal.INPUT_LOGITS
        @test Focal.epsilon(loss) == 1e-7
        @test Focal.label_smoothing(loss) == 0.0
        @test Focal.variant(loss) == Focal.VARIANT_FL
        @test Focal.beta(loss) == 0.0
        @test Focal.threads(loss) == 0
        Focal.set_alpha!(loss, [0.25, 0.75])
        @test Focal.alpha(loss) == [0.25, 0.75]
        Focal.set_alpha!(loss, 0.5)
        @test Focal.alpha(loss) == 0.5
        Focal.set_ignore_index!(loss, -100)
        @test Focal.ignore_index(loss) == -100
        other = copy(loss)
        Focal.set_gamma!(other, 0.5)
        @test Focal.gamma(loss) == 2.0
        @test Focal.gamma(other) == 0.5
        @test Focal.ignore_index(other) == -100
        close(other)
        @test Focal.isclosed(other)
        @test_throws ArgumentError Focal.gamma(other)
        close(loss)
        sig = Loss(:sigmoid; gamma=1.5, alpha=0.25, reduction=Focal.REDUCTION_SUM)
        @test Focal.mode(sig) == Focal.MODE_SIGMOID
        @test Focal.gamma(sig) == 1.5
        close(sig)
        for _ in 1:1000
            Loss(; alpha=ones(100))
        end
        GC.gc()
    end

    @testset "errors" begin
        loss = Loss()
        e = try
            Focal.set_gamma!(loss, -1.0)
            nothing
        catch err
            err
        end
        @test e isa FocalError
        @test e.status == Focal.STATUS_INVALID_PARAMETER
        @test !isempty(e.message)
        @test Focal.gamma(loss) == 2.0
        @test_throws FocalError Focal.set_reduction!(loss, 17)
        x = zeros(Float64, 3, 2)          # (C, N) = C-order (2, 3)
        bad = try
            Focal.forward(loss, x, Int64[0, 3])
            nothing
        catch err
            err
        end
        @test bad isa FocalError && bad.status == Focal.STATUS_INVALID_TARGET
        w = try
            Focal.forward(loss, x, Int64[0, 1]; weight=[1.0, -1.0])
            nothing
        catch err
            err
        end
        @test w isa FocalError && w.status == Focal.STATUS_INVALID_WEIGHT
        Focal.set_reduction!(loss, Focal.REDUCTION_SUM_OVER_POSITIVES)
        inc = try
            Focal.forward(loss, x, Int64[0, 1])
            nothing
        catch err
            err
        end
        @test inc isa FocalError && inc.status == Focal.STATUS_INCOMPATIBLE
        @test Focal.status_string(4) == "invalid target"
        @test Focal.status_string(12345) == "unknown status"
        @test_throws DimensionMismatch Focal.forward(loss, x, Int64[0, 1, 2])
        close(loss)
    end

    @testset "layouts" begin
        # C-order (N, C, H, W) = (2, 4, 3, 5) is the Julia array (W, H, C, N).
        x = randn(5, 3, 4, 2)
        t = rand(0:3, 5, 3, 2)
        loss = Loss(; gamma=2.0, reduction=Focal.REDUCTION_NONE)
        out = Focal.forward(loss, x, t)
        @test size(out) == (5, 3, 2)
        # Channels-last: class axis first in Julia, (C, W, H, N).
        xcl = permutedims(x, (3, 1, 2, 4))
        out_cl = Focal.forward(loss, xcl, t; channels_last=true)
        @test isapprox(out_cl, out; rtol=1e-12)
        Focal.set_reduction!(loss, Focal.REDUCTION_MEAN)
        v, g = Focal.forward_backward(loss, x, t)
        v_cl, g_cl = Focal.forward_backward(loss, xcl, t; channels_last=true)
        @test isapprox(v_cl, v; rtol=1e-12)
        @test isapprox(permutedims(g_cl, (2, 3, 1, 4)), g; rtol=1e-10)
        v32 = Focal.forward(loss, Float32.(x), t)
        @test v32 isa Float32
        @test isapprox(v32, v; rtol=1e-5)
        close(loss)
    end

    # The Julia examples of docs/ffi.md, except the block that
    # loads the module (already loaded above).
    doc = normpath(joinpath(@__DIR__, "..", "..", "..", "docs", "ffi.md"))
    if isfile(doc)
        @testset "documentation examples" begin
            blocks = [m.captures[1] for m in eachmatch(r"```julia\n(.*?)```"s, read(doc, String))]
            @test !isempty(blocks)
            for code in blocks
                occursin("include(", code) && continue
                include_string(Main, code, doc)
                @test true
            end
        end
    end

    for file in ("softmax.golden", "seeds.golden", "sigmoid.golden")
        path = joinpath(GOLDEN_DIR, file)
        isfile(path) || continue
        @testset "$file" begin
            cases = read_golden(path)
            @test !isempty(cases)
            for case in cases, T in (Float64, Float32)
                @testset "$(case["name"]) $T" begin
                    run_case(case, T)
                end
            end
        end
    end
end
