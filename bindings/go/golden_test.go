package focal

// The golden data of tests/golden (format in tests/golden/README.md),
// checked through the binding in float64 and float32.

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

type goldenCase struct {
	name           string
	line           int
	mode           Mode
	dense          bool
	input          Input
	gamma          float64
	alpha          Alpha
	reduction      Reduction
	ignoreIndex    *int64
	smoothing      float64
	epsilon        float64
	variant        Variant
	beta           float64
	rtol64, rtol32 float64
	shape          Shape
	x              []float64
	tIndex         []int64
	tDense         []float64
	w              []float64 // nil: no weights
	g, out         []float64
	grad, fgrad    []float64

	// 1.1 (tests/golden/README.md): nil pointers keep the library's default.
	divisor       *float64
	softForm      SoftForm
	posWeight     []float64
	gammaNegative *float64
	clip          *float64
	polyEpsilon   float64
	counts        []float64 // nil: not checked
	tgrad         []float64 // nil: not checked
	half          string    // "", "bf16" or "f16"
	hout, hgrad   []float64
	hfgrad        []float64
}

func goldenDir() string {
	return filepath.Join("..", "..", "tests", "golden")
}

func parseFloat(tok string) (float64, error) {
	switch tok {
	case "nan":
		return math.NaN(), nil
	case "inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(tok, 64)
}

func counted(rest []string) ([]float64, error) {
	if len(rest) == 0 {
		return nil, fmt.Errorf("missing count")
	}
	n, err := strconv.Atoi(rest[0])
	if err != nil {
		return nil, err
	}
	if len(rest)-1 != n {
		return nil, fmt.Errorf("count %d but %d values", n, len(rest)-1)
	}
	v := make([]float64, n)
	for i, tok := range rest[1:] {
		if v[i], err = parseFloat(tok); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func countedInts(rest []string) ([]int64, error) {
	n, err := strconv.Atoi(rest[0])
	if err != nil {
		return nil, err
	}
	if len(rest)-1 != n {
		return nil, fmt.Errorf("count %d but %d values", n, len(rest)-1)
	}
	v := make([]int64, n)
	for i, tok := range rest[1:] {
		if v[i], err = strconv.ParseInt(tok, 10, 64); err != nil {
			return nil, err
		}
	}
	return v, nil
}

var reductions = map[string]Reduction{
	"none": ReductionNone, "mean": ReductionMean, "sum": ReductionSum,
	"weighted_mean": ReductionWeightedMean, "sum_over_positives": ReductionSumOverPositives,
	"divisor": ReductionDivisor,
}

var variants = map[string]Variant{
	"fl": VariantFL, "fl_star": VariantFLStar, "qfl": VariantQFL, "vfl": VariantVFL, "asl": VariantASL,
}

func optFloat(tok string) (*float64, error) {
	v, err := parseFloat(tok)
	return &v, err
}

func loadGolden(path string) ([]*goldenCase, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cases []*goldenCase
	var cur *goldenCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		toks := strings.Fields(text)
		key, rest := toks[0], toks[1:]
		fail := func(err error) error { return fmt.Errorf("%s:%d: %s: %v", path, line, key, err) }
		if key == "case" {
			if cur != nil {
				return nil, fail(fmt.Errorf("case inside a case"))
			}
			cur = &goldenCase{name: rest[0], line: line, gamma: 2, reduction: ReductionMean,
				epsilon: 1e-7, rtol64: 1e-12, rtol32: 2e-6}
			continue
		}
		if cur == nil {
			return nil, fail(fmt.Errorf("outside a case"))
		}
		var err error
		switch key {
		case "mode":
			cur.mode = Softmax
			if rest[0] == "sigmoid" {
				cur.mode = Sigmoid
			}
		case "targets":
			cur.dense = rest[0] == "dense"
		case "input":
			cur.input = InputLogits
			if rest[0] == "probabilities" {
				cur.input = InputProbabilities
			}
		case "gamma":
			cur.gamma, err = parseFloat(rest[0])
		case "alpha":
			switch rest[0] {
			case "none":
				cur.alpha = Alpha{Kind: AlphaNone}
			case "scalar":
				cur.alpha.Kind = AlphaScalar
				cur.alpha.Scalar, err = parseFloat(rest[1])
			case "vector":
				cur.alpha.Kind = AlphaVector
				cur.alpha.Vector, err = counted(rest[1:])
			default:
				err = fmt.Errorf("unknown alpha %q", rest[0])
			}
		case "reduction":
			r, ok := reductions[rest[0]]
			if !ok {
				err = fmt.Errorf("unknown reduction %q", rest[0])
			}
			cur.reduction = r
		case "ignore_index":
			if rest[0] != "none" {
				var v int64
				v, err = strconv.ParseInt(rest[0], 10, 64)
				cur.ignoreIndex = &v
			}
		case "smoothing":
			cur.smoothing, err = parseFloat(rest[0])
		case "epsilon":
			cur.epsilon, err = parseFloat(rest[0])
		case "variant":
			v, ok := variants[rest[0]]
			if !ok {
				err = fmt.Errorf("unknown variant %q", rest[0])
			}
			cur.variant = v
		case "divisor":
			cur.divisor, err = optFloat(rest[0])
		case "soft_form":
			cur.softForm = SoftTorchvision
			if rest[0] == "split" {
				cur.softForm = SoftSplit
			}
		case "pos_weight":
			cur.posWeight, err = counted(rest)
		case "gamma_negative":
			cur.gammaNegative, err = optFloat(rest[0])
		case "clip":
			cur.clip, err = optFloat(rest[0])
		case "poly_epsilon":
			cur.polyEpsilon, err = parseFloat(rest[0])
		case "counts":
			cur.counts, err = counted(rest)
		case "tgrad":
			cur.tgrad, err = counted(rest)
		case "half":
			cur.half = rest[0]
		case "hout":
			cur.hout, err = counted(rest)
		case "hgrad":
			cur.hgrad, err = counted(rest)
		case "hfgrad":
			cur.hfgrad, err = counted(rest)
		case "beta":
			cur.beta, err = parseFloat(rest[0])
		case "tol":
			if cur.rtol64, err = parseFloat(rest[0]); err == nil {
				cur.rtol32, err = parseFloat(rest[1])
			}
		case "shape":
			var d [3]int
			for i := range d {
				if d[i], err = strconv.Atoi(rest[i]); err != nil {
					break
				}
			}
			cur.shape = Shape{d[0], d[1], d[2]}
		case "x":
			cur.x, err = counted(rest)
		case "t":
			if cur.dense {
				cur.tDense, err = counted(rest)
			} else {
				cur.tIndex, err = countedInts(rest)
			}
		case "w":
			if rest[0] != "none" {
				cur.w, err = counted(rest)
			}
		case "g":
			cur.g, err = counted(rest)
		case "out":
			cur.out, err = counted(rest)
		case "grad":
			cur.grad, err = counted(rest)
		case "fgrad":
			cur.fgrad, err = counted(rest)
		case "end":
			cases = append(cases, cur)
			cur = nil
		default:
			err = fmt.Errorf("unknown key")
		}
		if err != nil {
			return nil, fail(err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, fmt.Errorf("%s: the last case has no end", path)
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("%s: no cases", path)
	}
	return cases, nil
}

func (gc *goldenCase) configure() (*Loss, error) {
	l, err := NewLoss(gc.mode)
	if err != nil {
		return nil, err
	}
	steps := []func() error{
		func() error { return l.SetGamma(gc.gamma) },
		func() error {
			switch gc.alpha.Kind {
			case AlphaScalar:
				return l.SetAlpha(gc.alpha.Scalar)
			case AlphaVector:
				return l.SetAlphaVector(gc.alpha.Vector)
			}
			return l.ClearAlpha()
		},
		func() error { return l.SetReduction(gc.reduction) },
		func() error { return l.SetInput(gc.input) },
		func() error { return l.SetEpsilon(gc.epsilon) },
		func() error { return l.SetLabelSmoothing(gc.smoothing) },
		func() error { return l.SetVariant(gc.variant) },
		func() error { return l.SetBeta(gc.beta) },
		func() error {
			if gc.ignoreIndex != nil {
				return l.SetIgnoreIndex(*gc.ignoreIndex)
			}
			return nil
		},
		func() error {
			if gc.divisor != nil {
				return l.SetDivisor(*gc.divisor)
			}
			return nil
		},
		func() error { return l.SetSoftForm(gc.softForm) },
		func() error {
			if gc.posWeight != nil {
				return l.SetPosWeightVector(gc.posWeight)
			}
			return nil
		},
		func() error {
			if gc.gammaNegative != nil {
				return l.SetGammaNegative(*gc.gammaNegative)
			}
			return nil
		},
		func() error {
			if gc.clip != nil {
				return l.SetClip(*gc.clip)
			}
			return nil
		},
		func() error { return l.SetPolyEpsilon(gc.polyEpsilon) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

// compare is the C runner's rule: |got - ref| <= atol + rtol |ref| with
// atol = rtol * max(max |ref|, 1e-300) * 0.1; NaN matches NaN and an
// infinity the same infinity.
func compare(what string, got, want []float64, rtol float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := 1e-300
	for _, w := range want {
		if !math.IsInf(w, 0) && !math.IsNaN(w) {
			scale = math.Max(scale, math.Abs(w))
		}
	}
	atol := rtol * scale * 0.1
	for i, w := range want {
		g := got[i]
		var ok bool
		switch {
		case math.IsNaN(w):
			ok = math.IsNaN(g)
		case math.IsInf(w, 0):
			ok = g == w
		default:
			ok = math.Abs(g-w) <= atol+rtol*math.Abs(w)
		}
		if !ok {
			return fmt.Errorf("%s[%d] = %g, want %g (rtol %g)", what, i, g, w, rtol)
		}
	}
	return nil
}

func to32(v []float64) []float32 {
	if v == nil {
		return nil
	}
	r := make([]float32, len(v))
	for i, x := range v {
		r[i] = float32(x)
	}
	return r
}

func from32(v []float32) []float64 {
	r := make([]float64, len(v))
	for i, x := range v {
		r[i] = float64(x)
	}
	return r
}

// kernels runs one precision's compute calls with float64 in and out.
type kernels struct {
	forward         func(l *Loss, gc *goldenCase, out []float64) error
	backward        func(l *Loss, gc *goldenCase, grad []float64) error
	forwardBackward func(l *Loss, gc *goldenCase, out, grad []float64) error
}

var kernels64 = kernels{
	forward: func(l *Loss, gc *goldenCase, out []float64) error {
		if gc.dense {
			return l.ForwardDense64(gc.shape, gc.x, gc.tDense, gc.w, out)
		}
		return l.Forward64(gc.shape, gc.x, gc.tIndex, gc.w, out)
	},
	backward: func(l *Loss, gc *goldenCase, grad []float64) error {
		if gc.dense {
			return l.BackwardDense64(gc.shape, gc.x, gc.tDense, gc.w, gc.g, grad)
		}
		return l.Backward64(gc.shape, gc.x, gc.tIndex, gc.w, gc.g, grad)
	},
	forwardBackward: func(l *Loss, gc *goldenCase, out, grad []float64) error {
		if gc.dense {
			return l.ForwardBackwardDense64(gc.shape, gc.x, gc.tDense, gc.w, out, grad)
		}
		return l.ForwardBackward64(gc.shape, gc.x, gc.tIndex, gc.w, out, grad)
	},
}

// copy32 runs f on float32 copies of out and grad (nil stays nil) and
// widens the results back.
func copy32(out, grad []float64, f func(o, g []float32) error) error {
	o, g := to32(out), to32(grad)
	if err := f(o, g); err != nil {
		return err
	}
	if out != nil {
		copy(out, from32(o))
	}
	if grad != nil {
		copy(grad, from32(g))
	}
	return nil
}

var kernels32 = kernels{
	forward: func(l *Loss, gc *goldenCase, out []float64) error {
		return copy32(out, nil, func(o, _ []float32) error {
			if gc.dense {
				return l.ForwardDense32(gc.shape, to32(gc.x), to32(gc.tDense), to32(gc.w), o)
			}
			return l.Forward32(gc.shape, to32(gc.x), gc.tIndex, to32(gc.w), o)
		})
	},
	backward: func(l *Loss, gc *goldenCase, grad []float64) error {
		return copy32(nil, grad, func(_, g []float32) error {
			if gc.dense {
				return l.BackwardDense32(gc.shape, to32(gc.x), to32(gc.tDense), to32(gc.w), to32(gc.g), g)
			}
			return l.Backward32(gc.shape, to32(gc.x), gc.tIndex, to32(gc.w), to32(gc.g), g)
		})
	},
	forwardBackward: func(l *Loss, gc *goldenCase, out, grad []float64) error {
		return copy32(out, grad, func(o, g []float32) error {
			if gc.dense {
				return l.ForwardBackwardDense32(gc.shape, to32(gc.x), to32(gc.tDense), to32(gc.w), o, g)
			}
			return l.ForwardBackward32(gc.shape, to32(gc.x), gc.tIndex, to32(gc.w), o, g)
		})
	},
}

// check runs forward, backward and forward_backward (also with either
// output skipped) and returns the first mismatch or error.
func (gc *goldenCase) check(k kernels, rtol float64) error {
	l, err := gc.configure()
	if err != nil {
		return err
	}
	defer l.Close()
	nOut := l.OutLen(gc.shape)
	if nOut != len(gc.out) {
		return fmt.Errorf("OutLen %d but the case has %d values", nOut, len(gc.out))
	}
	nx := gc.shape.Elements()

	out := make([]float64, nOut)
	if err := k.forward(l, gc, out); err != nil {
		return err
	}
	if err := compare("forward out", out, gc.out, rtol); err != nil {
		return err
	}
	grad := make([]float64, nx)
	if err := k.backward(l, gc, grad); err != nil {
		return err
	}
	if err := compare("backward grad", grad, gc.grad, rtol); err != nil {
		return err
	}
	for _, both := range [][2]bool{{true, true}, {true, false}, {false, true}} {
		var o, g []float64
		if both[0] {
			o = make([]float64, nOut)
		}
		if both[1] {
			g = make([]float64, nx)
		}
		if err := k.forwardBackward(l, gc, o, g); err != nil {
			return err
		}
		if o != nil {
			if err := compare("forward_backward out", o, gc.out, rtol); err != nil {
				return err
			}
		}
		if g != nil {
			if err := compare("forward_backward grad", g, gc.fgrad, rtol); err != nil {
				return err
			}
		}
	}
	return nil
}

// check11 checks the case's 1.1 results: the shard's counts and the
// gradient with respect to the dense targets, in float64 and float32.
func (gc *goldenCase) check11() error {
	if gc.counts == nil && gc.tgrad == nil {
		return nil
	}
	l, err := gc.configure()
	if err != nil {
		return err
	}
	defer l.Close()
	if gc.counts != nil {
		var c64, c32 [3]float64
		var err32 error
		if gc.dense {
			c64, err = l.CountsDense64(gc.shape, gc.tDense, gc.w)
			c32, err32 = l.CountsDense32(gc.shape, to32(gc.tDense), to32(gc.w))
		} else {
			c64, err = l.Counts64(gc.shape, gc.tIndex, gc.w)
			c32, err32 = l.Counts32(gc.shape, gc.tIndex, to32(gc.w))
		}
		for _, e := range []error{err, err32, compare("counts f64", c64[:], gc.counts, gc.rtol64),
			compare("counts f32", c32[:], gc.counts, gc.rtol32)} {
			if e != nil {
				return e
			}
		}
	}
	if gc.tgrad != nil {
		tg := make([]float64, len(gc.tDense))
		if err := l.BackwardTargetDense64(gc.shape, gc.x, gc.tDense, gc.w, gc.g, tg); err != nil {
			return err
		}
		if err := compare("target gradient f64", tg, gc.tgrad, gc.rtol64); err != nil {
			return err
		}
		tg32 := make([]float32, len(gc.tDense))
		if err := l.BackwardTargetDense32(gc.shape, to32(gc.x), to32(gc.tDense), to32(gc.w), to32(gc.g), tg32); err != nil {
			return err
		}
		if err := compare("target gradient f32", from32(tg32), gc.tgrad, gc.rtol32); err != nil {
			return err
		}
	}
	return nil
}

// decodeHalf widens a bfloat16 or float16 bit pattern exactly.
func decodeHalf(kind string, h uint16) float64 {
	if kind == "bf16" {
		return float64(math.Float32frombits(uint32(h) << 16))
	}
	exp, frac := int(h>>10)&0x1f, float64(h&0x3ff)
	var v float64
	switch exp {
	case 0:
		v = math.Ldexp(frac, -24)
	case 0x1f:
		v = math.Inf(1)
		if frac != 0 {
			v = math.NaN()
		}
	default:
		v = math.Ldexp(frac+1024, exp-25)
	}
	if h&0x8000 != 0 {
		v = -v
	}
	return v
}

// encodeHalf is the bit pattern of a value exact in the type (the golden
// inputs of a half case are), found among every pattern.
func encodeHalf(kind string, v float64) (uint16, error) {
	for h := 0; h < 1<<16; h++ {
		d := decodeHalf(kind, uint16(h))
		if d == v && math.Signbit(d) == math.Signbit(v) {
			return uint16(h), nil
		}
	}
	return 0, fmt.Errorf("%g is not a %s value", v, kind)
}

func encodeAll(kind string, v []float64) ([]uint16, error) {
	if v == nil {
		return nil, nil
	}
	r := make([]uint16, len(v))
	for i, x := range v {
		h, err := encodeHalf(kind, x)
		if err != nil {
			return nil, err
		}
		r[i] = h
	}
	return r, nil
}

func decodeAll(kind string, h []uint16) []float64 {
	r := make([]float64, len(h))
	for i, x := range h {
		r[i] = decodeHalf(kind, x)
	}
	return r
}

// checkHalf runs a half case's bfloat16 or float16 forward, backward and
// forward_backward on the inputs' bit patterns; each result within one
// unit of the type's precision of torch's rounding (hout, hgrad, hfgrad).
func (gc *goldenCase) checkHalf() error {
	if gc.half == "" {
		return nil
	}
	kind := gc.half
	rtol := math.Ldexp(1, -7)
	if kind == "f16" {
		rtol = math.Ldexp(1, -10)
	}
	l, err := gc.configure()
	if err != nil {
		return err
	}
	defer l.Close()
	var x, t, w, g []uint16
	for _, in := range []struct {
		dst *[]uint16
		src []float64
	}{{&x, gc.x}, {&t, gc.tDense}, {&w, gc.w}, {&g, gc.g}} {
		if *in.dst, err = encodeAll(kind, in.src); err != nil {
			return err
		}
	}
	out := make([]uint16, len(gc.hout))
	grad := make([]uint16, len(gc.x))
	fgrad := make([]uint16, len(gc.x))
	var e1, e2, e3 error
	switch {
	case kind == "bf16" && gc.dense:
		e1 = l.ForwardDenseBF16(gc.shape, x, t, w, out)
		e2 = l.BackwardDenseBF16(gc.shape, x, t, w, g, grad)
	case kind == "bf16":
		e1 = l.ForwardBF16(gc.shape, x, gc.tIndex, w, out)
		e2 = l.BackwardBF16(gc.shape, x, gc.tIndex, w, g, grad)
	case gc.dense:
		e1 = l.ForwardDenseF16(gc.shape, x, t, w, out)
		e2 = l.BackwardDenseF16(gc.shape, x, t, w, g, grad)
	default:
		e1 = l.ForwardF16(gc.shape, x, gc.tIndex, w, out)
		e2 = l.BackwardF16(gc.shape, x, gc.tIndex, w, g, grad)
	}
	for _, e := range []error{e1, e2, compare(kind+" out", decodeAll(kind, out), gc.hout, rtol),
		compare(kind+" grad", decodeAll(kind, grad), gc.hgrad, rtol)} {
		if e != nil {
			return e
		}
	}
	out2 := make([]uint16, len(gc.hout))
	switch {
	case kind == "bf16" && gc.dense:
		e3 = l.ForwardBackwardDenseBF16(gc.shape, x, t, w, out2, fgrad)
	case kind == "bf16":
		e3 = l.ForwardBackwardBF16(gc.shape, x, gc.tIndex, w, out2, fgrad)
	case gc.dense:
		e3 = l.ForwardBackwardDenseF16(gc.shape, x, t, w, out2, fgrad)
	default:
		e3 = l.ForwardBackwardF16(gc.shape, x, gc.tIndex, w, out2, fgrad)
	}
	for _, e := range []error{e3, compare(kind+" forward_backward out", decodeAll(kind, out2), gc.hout, rtol),
		compare(kind+" forward_backward grad", decodeAll(kind, fgrad), gc.hfgrad, rtol)} {
		if e != nil {
			return e
		}
	}
	return nil
}

func runGolden(t *testing.T, path string) {
	cases, err := loadGolden(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 100 {
		t.Errorf("%s: only %d cases", path, len(cases))
	}
	for _, gc := range cases {
		if err := gc.check(kernels64, gc.rtol64); err != nil {
			t.Errorf("%s/f64 (%s:%d): %v", gc.name, path, gc.line, err)
		}
		if err := gc.check(kernels32, gc.rtol32); err != nil {
			t.Errorf("%s/f32 (%s:%d): %v", gc.name, path, gc.line, err)
		}
		if err := gc.check11(); err != nil {
			t.Errorf("%s/1.1 (%s:%d): %v", gc.name, path, gc.line, err)
		}
		if err := gc.checkHalf(); err != nil {
			t.Errorf("%s/%s (%s:%d): %v", gc.name, gc.half, path, gc.line, err)
		}
	}
	t.Logf("%s: %d cases in float64 and float32", path, len(cases))
}

func TestGoldenSoftmax(t *testing.T) {
	runGolden(t, filepath.Join(goldenDir(), "softmax.golden"))
}

func TestGoldenSigmoid(t *testing.T) {
	runGolden(t, filepath.Join(goldenDir(), "sigmoid.golden"))
}

// 1.1: DIVISOR, counts, the split form, pos_weight, target gradients.
func TestGoldenParallel(t *testing.T) {
	runGolden(t, filepath.Join(goldenDir(), "parallel.golden"))
}

// 1.1: QFL, VFL, ASL, Poly-1, DFL, and bfloat16 / float16 storage.
func TestGoldenFamily(t *testing.T) {
	runGolden(t, filepath.Join(goldenDir(), "family.golden"))
}

// The 1.1 checks fail on a wrong reference too.
func TestGoldenChecker11DetectsMismatch(t *testing.T) {
	cases, err := loadGolden(filepath.Join(goldenDir(), "parallel.golden"))
	if err != nil {
		t.Fatal(err)
	}
	var withCounts, withTgrad *goldenCase
	for _, gc := range cases {
		if gc.counts != nil && withCounts == nil {
			withCounts = gc
		}
		if gc.tgrad != nil && withTgrad == nil {
			withTgrad = gc
		}
	}
	if withCounts == nil || withTgrad == nil {
		t.Fatal("parallel.golden has no counts or tgrad case")
	}
	withCounts.counts[0] += 1
	if withCounts.check11() == nil {
		t.Error("perturbed counts passed")
	}
	withTgrad.counts = nil
	withTgrad.tgrad[0] += 1e-3 * (1 + math.Abs(withTgrad.tgrad[0]))
	if withTgrad.check11() == nil {
		t.Error("a perturbed target gradient passed")
	}
	fam, err := loadGolden(filepath.Join(goldenDir(), "family.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, gc := range fam {
		if gc.half != "" {
			gc.hout[0] = -gc.hout[0] - 1
			if gc.checkHalf() == nil {
				t.Error("a perturbed half result passed")
			}
			return
		}
	}
	t.Error("family.golden has no half case")
}

// The checker itself: a reference off by more than the tolerance must fail.
func TestGoldenCheckerDetectsMismatch(t *testing.T) {
	cases, err := loadGolden(filepath.Join(goldenDir(), "softmax.golden"))
	if err != nil {
		t.Fatal(err)
	}
	gc := cases[0]
	if err := gc.check(kernels64, gc.rtol64); err != nil {
		t.Fatal(err)
	}
	gc.out[0] *= 1 + 1e-6
	if gc.check(kernels64, gc.rtol64) == nil {
		t.Error("a perturbed out passed")
	}
	gc.out[0] /= 1 + 1e-6
	gc.fgrad[len(gc.fgrad)-1] += 1e-3
	if err := gc.check(kernels64, gc.rtol64); err == nil || !strings.Contains(err.Error(), "forward_backward grad") {
		t.Errorf("a perturbed fgrad gave %v", err)
	}
}
