package focal

// How failures surface: C statuses and detail messages as *Error, slice
// lengths rejected before any C call, settings round-tripping.

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
)

const sentinel = -12345.0

var x6 = []float64{2.0, 0.5, -1.0, 0.1, 0.2, 3.0}

func newLoss(t *testing.T, mode Mode) *Loss {
	t.Helper()
	l, err := NewLoss(mode)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func softmaxSum(t *testing.T) *Loss {
	l := newLoss(t, Softmax)
	if err := l.SetReduction(ReductionSum); err != nil {
		t.Fatal(err)
	}
	return l
}

func wantStatus(t *testing.T, what string, err error, sentinel *Error) *Error {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("%s: got %v, want %v", what, err, sentinel)
	}
	var fe *Error
	if !errors.As(err, &fe) || fe.Status != sentinel.Status {
		t.Fatalf("%s: %v is not an *Error with status %v", what, err, sentinel.Status)
	}
	return fe
}

func TestBadClassIndexIsInvalidTarget(t *testing.T) {
	l := softmaxSum(t)
	out := []float64{sentinel}
	err := l.Forward64(Shape{2, 3, 1}, x6, []int64{0, 7}, nil, out)
	fe := wantStatus(t, "Forward64", err, ErrInvalidTarget)
	if int(fe.Status) != 4 || fe.Op != "Forward64" {
		t.Errorf("status %d op %q", fe.Status, fe.Op)
	}
	if !strings.Contains(fe.Message, "target[1]") || !strings.Contains(fe.Message, "7") {
		t.Errorf("message %q names neither the position nor the value", fe.Message)
	}
	if s := err.Error(); !strings.Contains(s, "invalid target") || !strings.Contains(s, "target[1]") {
		t.Errorf("Error() = %q", s)
	}
	if errors.Is(err, ErrInvalidWeight) {
		t.Error("an invalid target matched ErrInvalidWeight")
	}
	if out[0] != sentinel {
		t.Error("a failing call wrote its output")
	}

	grad := make([]float32, 6)
	err = l.Backward32(Shape{2, 3, 1}, to32(x6), []int64{-3, 0}, nil, []float32{1}, grad)
	fe = wantStatus(t, "Backward32", err, ErrInvalidTarget)
	if !strings.Contains(fe.Message, "target[0]") || !strings.Contains(fe.Message, "-3") {
		t.Errorf("message %q", fe.Message)
	}
}

func TestOtherCErrors(t *testing.T) {
	l := softmaxSum(t)
	s := Shape{2, 3, 1}
	out := make([]float64, 1)

	err := l.ForwardDense64(s, x6, []float64{0, 1.5, 0, 1, 0, 0}, nil, out)
	fe := wantStatus(t, "dense target 1.5", err, ErrInvalidTarget)
	if !strings.Contains(fe.Message, "target[1]") {
		t.Errorf("message %q", fe.Message)
	}
	wantStatus(t, "negative weight", l.Forward64(s, x6, []int64{0, 1}, []float64{1, -2}, out), ErrInvalidWeight)

	three := newLoss(t, Softmax)
	if err := three.SetAlphaVector([]float64{0.5, 0.5}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "alpha vector for 2 classes", three.Forward64(s, x6, []int64{0, 1}, nil, out), ErrInvalidShape)

	pos := newLoss(t, Softmax)
	if err := pos.SetReduction(ReductionSumOverPositives); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "sum over positives in softmax", pos.Forward64(s, x6, []int64{0, 1}, nil, out), ErrIncompatible)

	_, err = NewLoss(Mode(7))
	wantStatus(t, "NewLoss(7)", err, ErrInvalidParameter)
}

func TestLengthMismatchesCaughtBeforeC(t *testing.T) {
	// The last error is per OS thread: stay on one to read it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	l := softmaxSum(t)
	s := Shape{2, 3, 1}
	if err := l.SetGamma(-1); !errors.Is(err, ErrInvalidParameter) {
		t.Fatalf("SetGamma(-1): %v", err)
	}
	marker := lastError()
	if marker == "" {
		t.Fatal("no last error after a failing call")
	}

	out := []float64{sentinel}
	grad := make([]float64, 6)
	for i := range grad {
		grad[i] = sentinel
	}
	checks := []struct {
		what string
		err  error
	}{
		{"input", l.Forward64(s, x6[:5], []int64{0, 1}, nil, out)},
		{"target", l.Forward64(s, x6, []int64{0, 1, 2}, nil, out)},
		{"target", l.ForwardDense64(s, x6, []float64{0, 0, 0}, nil, out)},
		{"weight", l.Forward64(s, x6, []int64{0, 1}, []float64{1}, out)},
		{"weight", l.Forward64(s, x6, []int64{0, 1}, []float64{}, out)},
		{"out", l.Forward64(s, x6, []int64{0, 1}, nil, make([]float64, 2))},
		{"out", l.Forward64(s, x6, []int64{0, 1}, nil, nil)},
		{"gradOut", l.Backward64(s, x6, []int64{0, 1}, nil, []float64{1, 1}, grad)},
		{"gradInput", l.Backward64(s, x6, []int64{0, 1}, nil, []float64{1}, grad[:4])},
		{"gradInput", l.ForwardBackward64(s, x6, []int64{0, 1}, nil, nil, grad[:5])},
		{"input", l.Forward32(s, make([]float32, 7), []int64{0, 1}, nil, make([]float32, 1))},
		{"Inner", l.Forward64(Shape{2, 3, 0}, nil, nil, nil, out)},
		{"overflows", l.Forward64(Shape{math.MaxInt / 2, 3, 2}, x6, []int64{0, 1}, nil, out)},
	}
	for _, c := range checks {
		fe := wantStatus(t, c.what, c.err, ErrInvalidShape)
		if !strings.Contains(fe.Message, c.what) {
			t.Errorf("%s: message %q", c.what, fe.Message)
		}
	}
	if got := lastError(); got != marker {
		t.Errorf("the C library was called despite a length mismatch: last error %q", got)
	}
	if out[0] != sentinel || grad[0] != sentinel {
		t.Error("an output was written")
	}

	none := newLoss(t, Sigmoid)
	if err := none.SetReduction(ReductionNone); err != nil {
		t.Fatal(err)
	}
	if n := none.OutLen(s); n != 6 {
		t.Errorf("OutLen = %d, want 6 (one per element in sigmoid mode)", n)
	}
	if err := none.Forward64(s, x6, []int64{0, 3}, nil, make([]float64, 6)); err != nil {
		t.Error(err)
	}
}

func TestInvalidSettingsRejected(t *testing.T) {
	l := newLoss(t, Sigmoid)
	for _, c := range []struct {
		what string
		err  error
	}{
		{"gamma -0.5", l.SetGamma(-0.5)},
		{"gamma NaN", l.SetGamma(math.NaN())},
		{"alpha +Inf", l.SetAlpha(math.Inf(1))},
		{"epsilon 0.5", l.SetEpsilon(0.5)},
		{"smoothing 1", l.SetLabelSmoothing(1)},
		{"beta NaN", l.SetBeta(math.NaN())},
		{"threads -1", l.SetThreads(-1)},
		{"threads 2^40", l.SetThreads(1 << 40)},
		{"reduction 9", l.SetReduction(Reduction(9))},
		{"input 2", l.SetInput(Input(2))},
		{"variant 5", l.SetVariant(Variant(5))},
	} {
		wantStatus(t, c.what, c.err, ErrInvalidParameter)
	}
	wantStatus(t, "empty alpha vector", l.SetAlphaVector(nil), ErrInvalidShape)
	if g, _ := l.Gamma(); g != 2 {
		t.Errorf("gamma %v after rejected setters", g)
	}
	if r, _ := l.Reduction(); r != ReductionMean {
		t.Errorf("reduction %v after a rejected setter", r)
	}
	if n := l.OutLen(Shape{2, 3, 1}); n != 1 {
		t.Errorf("OutLen %d after a rejected SetReduction", n)
	}
	if a, _ := l.Alpha(); a.Kind != AlphaNone {
		t.Errorf("alpha %+v", a)
	}
}

func TestSettingsRoundTrip(t *testing.T) {
	l := newLoss(t, Sigmoid)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	if m, err := l.Mode(); err != nil || m != Sigmoid {
		t.Errorf("Mode %v %v", m, err)
	}
	if _, ok, err := l.IgnoreIndex(); ok || err != nil {
		t.Errorf("default ignore index: %v %v", ok, err)
	}
	must(l.SetGamma(1.5))
	must(l.SetAlpha(0.25))
	must(l.SetReduction(ReductionSumOverPositives))
	must(l.SetIgnoreIndex(-100))
	must(l.SetInput(InputProbabilities))
	must(l.SetEpsilon(1e-4))
	must(l.SetLabelSmoothing(0.1))
	must(l.SetVariant(VariantFLStar))
	must(l.SetBeta(1))
	must(l.SetThreads(3))

	check := func(what string, got, want interface{}, err error) {
		t.Helper()
		if err != nil || got != want {
			t.Errorf("%s = %v (%v), want %v", what, got, err, want)
		}
	}
	g, err := l.Gamma()
	check("gamma", g, 1.5, err)
	a, err := l.Alpha()
	check("alpha", a.Kind == AlphaScalar && a.Scalar == 0.25, true, err)
	r, err := l.Reduction()
	check("reduction", r, ReductionSumOverPositives, err)
	ii, ok, err := l.IgnoreIndex()
	check("ignore index", ii, int64(-100), err)
	check("ignore index set", ok, true, nil)
	in, err := l.Input()
	check("input", in, InputProbabilities, err)
	e, err := l.Epsilon()
	check("epsilon", e, 1e-4, err)
	ls, err := l.LabelSmoothing()
	check("label smoothing", ls, 0.1, err)
	v, err := l.Variant()
	check("variant", v, VariantFLStar, err)
	b, err := l.Beta()
	check("beta", b, 1.0, err)
	th, err := l.Threads()
	check("threads", th, 3, err)

	must(l.SetAlphaVector([]float64{0.1, 0.2, 0.7}))
	a, err = l.Alpha()
	check("alpha vector", a.Kind == AlphaVector && len(a.Vector) == 3 && a.Vector[2] == 0.7, true, err)
	must(l.ClearAlpha())
	must(l.ClearIgnoreIndex())
	a, err = l.Alpha()
	check("cleared alpha", a.Kind, AlphaNone, err)
	_, ok, err = l.IgnoreIndex()
	check("cleared ignore index", ok, false, err)
}

func TestStatusValuesArePinned(t *testing.T) {
	pinned := map[Status]int{
		StatusOK: 0, StatusNullPointer: 1, StatusInvalidShape: 2, StatusInvalidParameter: 3,
		StatusInvalidTarget: 4, StatusInvalidWeight: 5, StatusIncompatible: 6, StatusOutOfMemory: 7,
		StatusInternal: 99,
	}
	if len(pinned) != 9 {
		t.Fatal("two statuses share a value")
	}
	for s, v := range pinned {
		if int(s) != v {
			t.Errorf("%v = %d, want %d", s, int(s), v)
		}
		if s.String() == "" {
			t.Errorf("status %d has no description", v)
		}
	}
	sentinels := []*Error{ErrNullPointer, ErrInvalidShape, ErrInvalidParameter, ErrInvalidTarget,
		ErrInvalidWeight, ErrIncompatible, ErrOutOfMemory, ErrInternal}
	for i, s := range sentinels {
		for j, o := range sentinels {
			if errors.Is(s, o) != (i == j) {
				t.Errorf("errors.Is(%v, %v) = %v", s, o, i != j)
			}
		}
	}
	if StatusInvalidTarget.String() != "invalid target" || Status(42).String() != "unknown status" {
		t.Errorf("descriptions %q %q", StatusInvalidTarget, Status(42))
	}
	for _, p := range [][2]int{
		{int(Softmax), 0}, {int(Sigmoid), 1},
		{int(ReductionNone), 0}, {int(ReductionMean), 1}, {int(ReductionSum), 2},
		{int(ReductionWeightedMean), 3}, {int(ReductionSumOverPositives), 4},
		{int(InputLogits), 0}, {int(InputProbabilities), 1},
		{int(VariantFL), 0}, {int(VariantFLStar), 1},
	} {
		if p[0] != p[1] {
			t.Errorf("enum value %d, want %d", p[0], p[1])
		}
	}
}

func TestVersion(t *testing.T) {
	n := VersionNumber()
	if n/10000 != 1 || BindingMajor != 1 {
		t.Fatalf("VersionNumber %d, BindingMajor %d", n, BindingMajor)
	}
	if want := fmt.Sprintf("%d.%d.%d", n/10000, n/100%100, n%100); VersionString() != want {
		t.Errorf("VersionString %q, VersionNumber %d", VersionString(), n)
	}
	if err := checkVersion(n); err != nil {
		t.Error(err)
	}
	if err := checkVersion(10999); err != nil {
		t.Error(err)
	}
	for _, other := range []uint{0, 9999, 20000, 20100} {
		err := checkVersion(other)
		if err == nil || !strings.Contains(err.Error(), "major version 1") {
			t.Errorf("checkVersion(%d) = %v", other, err)
		}
	}
}

func TestISA(t *testing.T) {
	isa := ISA()
	if isa != "avx512" && isa != "avx2" && isa != "scalar" {
		t.Errorf("ISA() = %q", isa)
	}
	if os.Getenv("FOCAL_MAX_ISA") == "scalar" && isa != "scalar" {
		t.Errorf("ISA() = %q with FOCAL_MAX_ISA=scalar", isa)
	}
	t.Logf("kernel path %s", isa)
}

func TestPriorBias(t *testing.T) {
	b, err := PriorBias(0.01)
	if err != nil || math.Abs(b-math.Log(0.01/0.99)) > 1e-12 {
		t.Errorf("PriorBias(0.01) = %v, %v", b, err)
	}
	for _, bad := range []float64{0, 1, -0.5, math.NaN()} {
		_, err := PriorBias(bad)
		wantStatus(t, "PriorBias", err, ErrInvalidParameter)
	}
}
