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
				epsilon: 1e-7, rtol64: 1e-10, rtol32: 1e-4}
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
			cur.variant = VariantFL
			if rest[0] == "fl_star" {
				cur.variant = VariantFLStar
			}
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
	}
	t.Logf("%s: %d cases in float64 and float32", path, len(cases))
}

func TestGoldenSoftmax(t *testing.T) {
	runGolden(t, filepath.Join(goldenDir(), "softmax.golden"))
}

func TestGoldenSigmoid(t *testing.T) {
	runGolden(t, filepath.Join(goldenDir(), "sigmoid.golden"))
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
