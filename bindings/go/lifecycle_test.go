package focal

// Ownership and sharing: Clone is deep, Close is idempotent and final, the
// finalizer frees forgotten contexts, and goroutines share one Loss.

import (
	"errors"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCloneIsDeep(t *testing.T) {
	orig := newLoss(t, Softmax)
	if err := orig.SetGamma(0.5); err != nil {
		t.Fatal(err)
	}
	if err := orig.SetAlphaVector([]float64{0.2, 0.3, 0.5}); err != nil {
		t.Fatal(err)
	}
	if err := orig.SetReduction(ReductionNone); err != nil {
		t.Fatal(err)
	}
	cp, err := orig.Clone()
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	if cp.ptr == orig.ptr {
		t.Fatal("Clone shares the C context")
	}
	if g, _ := cp.Gamma(); g != 0.5 {
		t.Errorf("clone gamma %v", g)
	}
	if n := cp.OutLen(Shape{4, 3, 1}); n != 4 {
		t.Errorf("clone OutLen %d: the reduction was not carried over", n)
	}
	if err := cp.SetGamma(3); err != nil {
		t.Fatal(err)
	}
	if err := cp.SetAlphaVector([]float64{1, 1, 1}); err != nil {
		t.Fatal(err)
	}
	if g, _ := orig.Gamma(); g != 0.5 {
		t.Errorf("original gamma changed to %v", g)
	}
	if a, _ := orig.Alpha(); a.Kind != AlphaVector || a.Vector[0] != 0.2 {
		t.Errorf("original alpha changed to %+v", a)
	}

	// The clone outlives the original.
	orig.Close()
	out := make([]float64, 1)
	if err := cp.Forward64(Shape{1, 3, 1}, []float64{1, 2, 3}, []int64{2}, nil, out); err != nil || out[0] <= 0 {
		t.Errorf("clone after closing the original: %v %v", out, err)
	}
}

func TestCloseIsFinal(t *testing.T) {
	l, err := NewLoss(Sigmoid)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal("a second Close failed:", err)
	}
	out := make([]float64, 1)
	errs := []error{
		l.SetGamma(1),
		l.SetReduction(ReductionSum),
		l.Forward64(Shape{1, 2, 1}, []float64{1, 2}, []int64{0}, nil, out),
		l.ForwardBackwardDense32(Shape{1, 2, 1}, []float32{1, 2}, []float32{0, 1}, nil, make([]float32, 1), nil),
	}
	_, err = l.Gamma()
	errs = append(errs, err)
	_, err = l.Clone()
	errs = append(errs, err)
	_, err = l.Alpha()
	errs = append(errs, err)
	for i, err := range errs {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("call %d after Close: %v", i, err)
		}
	}
}

func residentKiB(t *testing.T) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			v, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func TestFinalizerFreesForgottenLosses(t *testing.T) {
	// Each context holds a copied 8 MiB alpha vector; without the finalizer
	// the forgotten ones would keep about 1 GiB resident.
	alpha := make([]float64, 1<<20)
	for i := range alpha {
		alpha[i] = 0.25
	}
	runtime.GC()
	before := residentKiB(t)
	for i := 0; i < 128; i++ {
		l, err := NewLoss(Sigmoid)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.SetAlphaVector(alpha); err != nil {
			t.Fatal(err)
		}
		if i%8 == 7 {
			runtime.GC()
			time.Sleep(time.Millisecond)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	grown := 0
	for time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		if grown = (residentKiB(t) - before) / 1024; grown < 256 {
			return
		}
	}
	t.Errorf("resident memory grew by %d MiB: forgotten contexts are not freed", grown)
}

func TestGoroutinesShareOneLoss(t *testing.T) {
	const n, c, inner = 64, 7, 5
	s := Shape{n, c, inner}
	x := make([]float32, n*c*inner)
	for i := range x {
		x[i] = float32(i*37%101-50) / 17
	}
	target := make([]int64, n*inner)
	for i := range target {
		target[i] = int64(i % c)
	}
	l := newLoss(t, Softmax)
	if err := l.SetGamma(2); err != nil {
		t.Fatal(err)
	}
	wantOut := make([]float32, 1)
	wantGrad := make([]float32, len(x))
	if err := l.ForwardBackward32(s, x, target, nil, wantOut, wantGrad); err != nil {
		t.Fatal(err)
	}

	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	mismatches := make(chan string, workers*rounds)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				out := make([]float32, 1)
				grad := make([]float32, len(x))
				if err := l.ForwardBackward32(s, x, target, nil, out, grad); err != nil {
					errs <- err
					return
				}
				if math.Float32bits(out[0]) != math.Float32bits(wantOut[0]) {
					mismatches <- "out"
				}
				for i := range grad {
					if math.Float32bits(grad[i]) != math.Float32bits(wantGrad[i]) {
						mismatches <- "grad[" + strconv.Itoa(i) + "]"
						break
					}
				}
			}
		}()
	}
	// Setters wait for running computations; results are bitwise identical
	// for every thread count, so changing it must not change anything.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for r := 0; r < rounds; r++ {
			if err := l.SetThreads(r % 3); err != nil {
				errs <- err
				return
			}
			runtime.Gosched()
		}
	}()
	wg.Wait()
	close(errs)
	close(mismatches)
	for err := range errs {
		t.Error(err)
	}
	for m := range mismatches {
		t.Errorf("a concurrent result differs from the serial one in %s", m)
	}
}
